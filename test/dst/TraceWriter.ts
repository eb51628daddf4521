// Traces of deterministic simulation runs, for trace validation of the whole cluster:
//
// - the global trace: every member's core events, the network's drops and duplicates and the
//   restarts, merged in the simulator's one event order, in the NDJSON format spec/TraceRaft.tla
//   reads (test/sim/TraceWriter.ts describes it), which TLC checks against spec/Raft.tla;
// - the server trace: the same core events plus each member's Start and node-loop events, in the
//   format of a server's --experimental-trace-file, for the node-loop validator
//   (src/check/node-loop.ts), which checks what TLC cannot: persistence before sends, applies.
//
// Differences from the pure core's traces: entry values are a digest byte of the (long) KV
// payload and snapshot data a short digest; a Restart after a crash that lost unsynced writes
// names, in params.recoveredAt, the earlier line of the same member whose persistent state the
// disk recovered (spec/TraceRaft.tla checks that it is one, see spec/README.md); messages the
// simulator loses because their receiver crashed (or was down) are traced as DropMessage.
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs"
import { join } from "node:path"
import type { Storage } from "../../src/raft/Api.ts"
import {
  encodeConfig, encodeCoreEvent, encodeMessage, encodeState, type Json, type TraceEncoding,
} from "../../src/raft/TraceJson.ts"
import type { TracedState } from "../../src/raft/Trace.ts"
import type { Config, NodeId } from "../../src/raft/Types.ts"
import { encodeNodeLoopEvent } from "../../src/server/NodeTraceJson.ts"
import type { SimHooks, SimOptions, SimResult } from "./Simulation.ts"
import { simulate } from "./Simulation.ts"

/** FNV-1a over the bytes: payload digests (deterministic, no crypto inside a run). */
function fnv1a(data: Uint8Array): number {
  let h = 0x811c9dc5
  for (const byte of data) h = Math.imul(h ^ byte, 0x01000193) >>> 0
  return h
}

/** Values 1..255 (0 is the spec's NoOp): equal payloads get equal values, most unequal ones not. */
export const simEncoding: TraceEncoding = {
  value: (data) => 1 + (fnv1a(data) % 255),
  // A string: TLC's integers are 32-bit.
  snapshotData: (data) => ({ bytes: data.length, fnv1a: fnv1a(data).toString(16) }),
}

/**
 * A digest of the spec's persistent variables of a traced state but commitIndex (a restart may
 * recover a lower commitIndex than the state it otherwise recovered). A digest, not the text:
 * one is kept per traced line. A collision would name a wrong line, which TLC rejects.
 */
function persistentKey(state: Json): string {
  const s = state as Record<string, Json>
  const text = JSON.stringify([s["currentTerm"], s["votedFor"], s["snapshotIndex"], s["snapshotTerm"], s["log"], s["config"]])
  let h1 = 0x811c9dc5
  let h2 = 0x9747b28c
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k)
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0
  }
  return `${h1.toString(36)}.${h2.toString(36)}.${text.length}`
}

const commitOf = (state: Json): Json => (state as Record<string, Json>)["commitIndex"]!

/** The traced state a member restarts in: what its disk recovered, as a fresh core holds it. */
function recoveredState(storage: Storage): TracedState {
  const { hardState, snapshot, entries } = storage
  return {
    currentTerm: hardState.currentTerm,
    state: "Follower",
    votedFor: hardState.votedFor,
    leaderId: 0 as NodeId,
    commitIndex: Math.max(hardState.commitIndex, snapshot.meta.index) as TracedState["commitIndex"],
    snapshotIndex: snapshot.meta.index,
    snapshotTerm: snapshot.meta.term,
    log: entries.slice(),
    config: configAt(storage),
  }
}

/** The configuration in effect: the last Config entry's, else the snapshot's (as the core). */
function configAt(storage: Storage): Config {
  for (let k = storage.entries.length - 1; k >= 0; k--) {
    const entry = storage.entries[k]!
    if (entry.type === "Config" && entry.config !== undefined) return entry.config
  }
  return storage.snapshot.meta.config
}

/** Where trace lines go, one JSON text each. */
export interface LineSink {
  push(text: string): void
}

/** Appends lines to a file in chunks: a long run's trace can outgrow one string. */
class LineFile implements LineSink {
  private readonly fd: number
  private buffer: string[] = []
  private size = 0

  constructor(file: string) {
    this.fd = openSync(file, "w")
  }

  push(text: string): void {
    this.buffer.push(text)
    this.size += text.length
    if (this.size >= 1 << 20) this.flush()
  }

  close(): void {
    this.flush()
    closeSync(this.fd)
  }

  private flush(): void {
    if (this.buffer.length > 0) writeSync(this.fd, this.buffer.join("\n") + "\n")
    this.buffer = []
    this.size = 0
  }
}

/**
 * Runs the simulation with trace hooks, sending the global trace (first its Init line) to
 * `global` and the server trace (Start, core and node-loop lines of every member) to `server`.
 * Returns the run's result and the global trace's events (lines after Init).
 */
export async function traceSimulation(
  options: Omit<SimOptions, "hooks">, global: LineSink, server: LineSink,
): Promise<{ events: number; result: SimResult }> {
  const ids = Array.from({ length: options.nodes }, (_, k) => k + 1)
  const bootstrap: Config = { voters: ids as NodeId[], votersOutgoing: [], learners: [] }
  /** Lines written to `global` (so the last one's number in the trace, Init being 1). */
  let count = 0
  const line = (json: Json): void => {
    global.push(JSON.stringify(json))
    count++
  }
  line({
    action: "Init",
    servers: ids,
    initialConfig: encodeConfig(bootstrap),
    // As SimServer configures every member.
    preVote: true,
    checkQuorum: true,
    config: "dst",
    seed: options.seed,
    steps: options.steps,
    bugs: options.bug === undefined ? [] : [options.bug],
  })
  /** Per member: persistent-state key -> the last global line (1-based) that left it so. */
  const persisted = new Map<number, Map<string, number>>()
  /** Per member: the persistent-state key and commitIndex of its last traced state. */
  const latest = new Map<number, string>()
  const latestCommit = new Map<number, Json>()
  const started = new Set<number>()
  const remember = (server: number, state: Json): void => {
    let seen = persisted.get(server)
    if (seen === undefined) persisted.set(server, (seen = new Map()))
    const key = persistentKey(state)
    seen.set(key, count)
    latest.set(server, key)
    latestCommit.set(server, commitOf(state))
  }
  const hooks: SimHooks = {
    core: (event) => {
      const json = encodeCoreEvent(event, simEncoding)
      line(json)
      server.push(JSON.stringify(json))
      remember(event.server, (json as Record<string, Json>)["state"]!)
    },
    nodeLoop: (event) => server.push(JSON.stringify(encodeNodeLoopEvent(event))),
    network: (event) => line({ action: event.action, message: encodeMessage(event.message, simEncoding) }),
    lost: (message) => line({ action: "DropMessage", message: encodeMessage(message, simEncoding) }),
    restart: (node, storage) => {
      const last = storage.entries[storage.entries.length - 1]
      server.push(JSON.stringify({
        kind: "Start",
        node,
        preVote: true,
        checkQuorum: true,
        hardState: { ...storage.hardState },
        snapshotIndex: storage.snapshot.meta.index,
        snapshotTerm: storage.snapshot.meta.term,
        lastIndex: last?.index ?? storage.snapshot.meta.index,
        lastTerm: last?.term ?? storage.snapshot.meta.term,
      }))
      // The first start is the spec's Init (a bootstrapped member).
      if (!started.has(node)) {
        started.add(node)
        return
      }
      const state = encodeState(recoveredState(storage), simEncoding)
      const key = persistentKey(state)
      const at = persisted.get(node)?.get(key)
      // No loss: a plain Restart; else name the line whose state the disk kept. A state never
      // traced gets no line, and TLC rejects the Restart.
      const lostWrites = latest.has(node) && (latest.get(node) !== key || latestCommit.get(node) !== commitOf(state))
      line({
        action: "Restart",
        server: node,
        ...(lostWrites && at !== undefined ? { params: { recoveredAt: at } } : {}),
        ...(lostWrites ? { recoveredSnapshotConfig: encodeConfig(storage.snapshot.meta.config) } : {}),
        state,
      })
      // A later crash recovers at least what this start recovered: older states cannot return.
      persisted.delete(node)
      remember(node, state)
    },
  }
  const result = await simulate({ ...options, hooks })
  return { events: count - 1, result }
}

/** Where the server trace of global trace `file` goes: `x.ndjson` -> `x.server.ndjson`. */
export function serverTraceFileOf(file: string): string {
  const dot = file.lastIndexOf(".")
  return dot > file.lastIndexOf("/") ? `${file.slice(0, dot)}.server${file.slice(dot)}` : `${file}.server`
}

/** Writes one run's global trace to `file` and its server trace to `serverFile` (if given). */
export async function writeSimTrace(
  options: Omit<SimOptions, "hooks">, file: string, serverFile?: string,
): Promise<{ events: number; result: SimResult }> {
  const global = new LineFile(file)
  const server = serverFile === undefined ? { push: () => {} } : new LineFile(serverFile)
  try {
    return await traceSimulation(options, global, server)
  } finally {
    global.close()
    if (server instanceof LineFile) server.close()
  }
}

export interface SimTraceSummary {
  readonly seed: number
  /** The global trace (for TLC) and the server trace (for the node-loop validator). */
  readonly file: string
  readonly serverFile: string
  readonly events: number
  readonly result: SimResult
}

/**
 * Writes the traces of `count` runs from seeds firstSeed, firstSeed + 1, ... into `dir`:
 * `sim-SEED.ndjson` and `sim-SEED.server.ndjson` (`dir` is created if missing). With a planted bug the cores' own assertions
 * are off, so that trace validation is what catches it.
 */
export async function writeSimTraces(options: {
  readonly dir: string
  readonly count: number
  readonly steps: number
  readonly firstSeed: number
  readonly nodes?: number
  readonly bug?: string
}): Promise<SimTraceSummary[]> {
  mkdirSync(options.dir, { recursive: true })
  const summaries: SimTraceSummary[] = []
  for (let k = 0; k < options.count; k++) {
    const seed = options.firstSeed + k
    const file = join(options.dir, `sim-${seed}.ndjson`)
    const serverFile = serverTraceFileOf(file)
    const { events, result } = await writeSimTrace({
      seed,
      steps: options.steps,
      nodes: options.nodes ?? 3,
      verify: options.bug === undefined,
      // Without keepGoing a buggy run stops at its first failure: the bug's step is traced by
      // then, and a run that goes on with diverged logs can write gigabytes.
      ...(options.bug === undefined ? {} : { bug: options.bug }),
    }, file, serverFile)
    summaries.push({ seed, file, serverFile, events, result })
  }
  return summaries
}
