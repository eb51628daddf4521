// An etcd client history, and the commands and outcomes it is made of. Pure data: the simulator,
// the fault tests and `verikv check-history` all produce this shape. Single-key commands keep the
// register model below (fast search); txn commands use the map model in txn-model.ts.
import { assertNever } from "../assert.ts"

/** A key's contents: a value, or null when the key is absent. */
export type RegisterValue = string | null

export type CompareOp = "=" | "!=" | "<" | ">"

/**
 * One etcd Compare on one key. On an absent key a version compares as 0, and a value compare
 * with a string is false whatever the operator (etcd's applyCompare). A value of null stands for
 * "absent" (etcd's CREATE == 0), so only = and != make sense with it.
 */
export type Compare =
  | { readonly key: string; readonly target: "value"; readonly op: CompareOp; readonly value: RegisterValue }
  | { readonly key: string; readonly target: "version"; readonly op: CompareOp; readonly version: number }

/** A request inside a txn branch; reads see earlier writes of the same branch, as in etcd. */
export type TxnRequest =
  | { readonly type: "put"; readonly key: string; readonly value: string }
  | { readonly type: "get"; readonly key: string }
  | { readonly type: "delete"; readonly key: string }

export type RegisterCommand =
  | TxnRequest
  /** etcd Txn: compare VALUE == expected (or CREATE == 0 when expected is null), then put. */
  | { readonly type: "cas"; readonly key: string; readonly expected: RegisterValue; readonly value: string }

/** etcd Txn over any keys: if every compare holds, run `success`, else `failure`. */
export interface TxnCommand {
  readonly type: "txn"
  readonly compare: ReadonlyArray<Compare>
  readonly success: ReadonlyArray<TxnRequest>
  readonly failure: ReadonlyArray<TxnRequest>
}

export type Command = RegisterCommand | TxnCommand

export type Outcome =
  | { readonly type: "put" }
  | { readonly type: "get"; readonly read: RegisterValue }
  | { readonly type: "delete" }
  | { readonly type: "cas"; readonly succeeded: boolean }
  /** `reads`: what the chosen branch's gets returned, in order. */
  | { readonly type: "txn"; readonly succeeded: boolean; readonly reads: ReadonlyArray<RegisterValue> }

export interface Completion {
  readonly returnTime: number
  readonly outcome: Outcome
}

export interface Operation {
  readonly clientId: number
  readonly command: Command
  readonly invokeTime: number
  /** Absent when the client never heard back (timeout, crash): the command may or may not have taken effect. */
  readonly completion?: Completion
}

export type History = ReadonlyArray<Operation>

/** Every key the command may read or write, compares and both branches included, without repeats. */
export function keysOf(command: Command): ReadonlyArray<string> {
  if (command.type !== "txn") return [command.key]
  const keys = new Set<string>()
  for (const compare of command.compare) keys.add(compare.key)
  for (const request of command.success) keys.add(request.key)
  for (const request of command.failure) keys.add(request.key)
  return [...keys]
}

/** Whether the command can change no key; such a command without a reply constrains nothing. */
export function isReadOnly(command: Command): boolean {
  if (command.type === "txn") {
    return command.success.every((request) => request.type === "get") &&
      command.failure.every((request) => request.type === "get")
  }
  return command.type === "get"
}

/** The register after `command`; the model is deterministic, so an unknown outcome still has one successor. */
export function nextValue(current: RegisterValue, command: RegisterCommand): RegisterValue {
  switch (command.type) {
    case "put":
      return command.value
    case "get":
      return current
    case "delete":
      return null
    case "cas":
      return current === command.expected ? command.value : current
    default:
      return assertNever(command, "command")
  }
}

/** Whether `outcome` is what the register model answers for `command` on `current`. */
export function outcomeMatches(current: RegisterValue, command: RegisterCommand, outcome: Outcome): boolean {
  switch (outcome.type) {
    case "put":
    case "delete":
      return command.type === outcome.type
    case "get":
      return command.type === "get" && outcome.read === current
    case "cas":
      return command.type === "cas" && outcome.succeeded === (current === command.expected)
    case "txn":
      return false
    default:
      return assertNever(outcome, "outcome")
  }
}

const show = (value: RegisterValue): string => (value === null ? "absent" : JSON.stringify(value))

function describeRequest(request: TxnRequest): string {
  const key = JSON.stringify(request.key)
  return request.type === "put" ? `put(${key}, ${show(request.value)})` : `${request.type}(${key})`
}

function describeCompare(compare: Compare): string {
  const key = JSON.stringify(compare.key)
  return compare.target === "value"
    ? `value(${key}) ${compare.op} ${show(compare.value)}`
    : `version(${key}) ${compare.op} ${compare.version}`
}

function describeCommand(command: Command): string {
  switch (command.type) {
    case "cas":
      return `cas(${JSON.stringify(command.key)}, ${show(command.expected)} -> ${show(command.value)})`
    case "txn": {
      const branch = (requests: ReadonlyArray<TxnRequest>): string => requests.map(describeRequest).join(", ")
      return `txn(if ${command.compare.map(describeCompare).join(" && ") || "true"}` +
        ` then [${branch(command.success)}] else [${branch(command.failure)}])`
    }
    default:
      return describeRequest(command)
  }
}

function describeOutcome(outcome: Outcome | undefined): string {
  if (outcome === undefined) return "no reply"
  switch (outcome.type) {
    case "get":
      return show(outcome.read)
    case "cas":
      return outcome.succeeded ? "succeeded" : "failed"
    case "txn":
      return `${outcome.succeeded ? "succeeded" : "failed"}` +
        (outcome.reads.length === 0 ? "" : `, read ${outcome.reads.map(show).join(", ")}`)
    default:
      return "ok"
  }
}

export function describeOperation(operation: Operation): string {
  const { completion } = operation
  const interval = `[${operation.invokeTime}, ${completion === undefined ? "∞" : completion.returnTime}]`
  const call = describeCommand(operation.command)
  return `client ${operation.clientId} ${interval} ${call} -> ${describeOutcome(completion?.outcome)}`
}
