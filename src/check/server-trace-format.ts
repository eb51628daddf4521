// Reads the lines of a server trace (--experimental-trace-file; written by src/server/TraceFile.ts,
// encoded by src/raft/TraceJson.ts and src/server/NodeTraceJson.ts, where the format is listed).
// Only the fields the node-loop validator uses are typed and checked; the rest pass through.

export interface TracedHardState {
  readonly currentTerm: number
  readonly votedFor: number
  readonly commitIndex: number
}

export interface TracedEntry {
  readonly term: number
  readonly index: number
}

/** A message as traced: the fields of src/raft/Types.ts Message, entries encoded. */
export interface TracedMessage {
  readonly type: string
  readonly term: number
  readonly from: number
  readonly to: number
  readonly preVote?: boolean
  readonly voteGranted?: boolean
  readonly success?: boolean
  readonly matchIndex?: number
  readonly lastLogIndex?: number
  readonly lastLogTerm?: number
  readonly prevLogIndex?: number
  readonly commitIndex?: number
  readonly entries?: ReadonlyArray<TracedEntry>
}

/** The spec variables of the acting server after the action (src/raft/Trace.ts TracedState). */
export interface TracedCoreState {
  readonly currentTerm: number
  readonly state: string
  readonly votedFor: number
  readonly commitIndex: number
  readonly snapshotIndex: number
  readonly snapshotTerm: number
  readonly log: ReadonlyArray<TracedEntry>
}

export interface CoreLine {
  readonly action: string
  readonly server: number
  readonly message?: TracedMessage
  readonly params?: Readonly<Record<string, number>>
  readonly reply?: TracedMessage
  readonly state: TracedCoreState
}

export type NodeLoopLine =
  | {
    readonly kind: "Start"
    readonly node: number
    readonly preVote: boolean
    readonly checkQuorum: boolean
    readonly hardState: TracedHardState
    readonly snapshotIndex: number
    readonly snapshotTerm: number
    readonly lastIndex: number
    readonly lastTerm: number
  }
  | {
    readonly kind: "Saved"
    readonly node: number
    readonly hardState?: TracedHardState
    readonly firstIndex?: number
    readonly lastIndex?: number
    readonly lastTerm?: number
    readonly sync: boolean
  }
  | {
    readonly kind: "SnapshotSaved"
    readonly node: number
    readonly index: number
    readonly term: number
    readonly installed: boolean
  }
  | {
    readonly kind: "Sent"
    readonly node: number
    readonly afterPersist: boolean
    readonly messages: ReadonlyArray<TracedMessage>
  }
  | { readonly kind: "Applied"; readonly node: number; readonly index: number; readonly term: number }
  | { readonly kind: "Answered"; readonly node: number; readonly requestId: string; readonly index: number }

export type ServerTraceLine = CoreLine | NodeLoopLine

export const isCoreLine = (line: ServerTraceLine): line is CoreLine => "action" in line

const nodeLoopKinds = new Set(["Start", "Saved", "SnapshotSaved", "Sent", "Applied", "Answered"])

type Record_ = Readonly<Record<string, unknown>>

const isRecord = (value: unknown): value is Record_ =>
  typeof value === "object" && value !== null && !Array.isArray(value)

function need(
  record: Record_,
  keys: ReadonlyArray<string>,
  type: "number" | "boolean" | "string",
  what: string,
): void {
  for (const key of keys) {
    if (typeof record[key] !== type) throw new Error(`${what}: field "${key}" is not a ${type}`)
  }
}

function checkNodeLoopLine(record: Record_): void {
  const kind = record["kind"] as string
  need(record, ["node"], "number", kind)
  switch (kind) {
    case "Start":
      need(record, ["snapshotIndex", "snapshotTerm", "lastIndex", "lastTerm"], "number", kind)
      if (!isRecord(record["hardState"])) throw new Error("Start: no hardState")
      return
    case "Saved":
      return need(record, ["sync"], "boolean", kind)
    case "SnapshotSaved":
      return need(record, ["index", "term"], "number", kind)
    case "Sent":
      if (!Array.isArray(record["messages"])) throw new Error("Sent: no messages")
      return
    case "Applied":
      return need(record, ["index", "term"], "number", kind)
    case "Answered":
      return need(record, ["index"], "number", kind)
  }
}

/** One line of a server trace; throws (saying why) if it is not one. */
export function parseServerTraceLine(text: string): ServerTraceLine {
  const value: unknown = JSON.parse(text)
  if (!isRecord(value)) throw new Error("not a JSON object")
  if (typeof value["action"] === "string") {
    need(value, ["server"], "number", value["action"])
    const state = value["state"]
    const action = value["action"]
    if (!isRecord(state) || !Array.isArray(state["log"])) throw new Error(`${action}: no traced state`)
    const numbers = ["currentTerm", "votedFor", "commitIndex", "snapshotIndex", "snapshotTerm"]
    need(state, numbers, "number", `${action} state`)
    return value as unknown as CoreLine
  }
  if (typeof value["kind"] === "string" && nodeLoopKinds.has(value["kind"])) {
    checkNodeLoopLine(value)
    return value as unknown as NodeLoopLine
  }
  throw new Error("neither a core event (action) nor a node-loop event (kind)")
}
