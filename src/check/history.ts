// An etcd client history over single-key registers, and the sequential model it must match.
// Pure data: the simulator, the fault tests and `verikv check-history` all produce this shape.
import { assertNever } from "../assert.ts"

/** A register's contents: a value, or null when the key is absent. */
export type RegisterValue = string | null

export type Command =
  | { readonly type: "put"; readonly key: string; readonly value: string }
  | { readonly type: "get"; readonly key: string }
  | { readonly type: "delete"; readonly key: string }
  /** etcd Txn: compare VALUE == expected (or CREATE == 0 when expected is null), then put. */
  | { readonly type: "cas"; readonly key: string; readonly expected: RegisterValue; readonly value: string }

export type Outcome =
  | { readonly type: "put" }
  | { readonly type: "get"; readonly read: RegisterValue }
  | { readonly type: "delete" }
  | { readonly type: "cas"; readonly succeeded: boolean }

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

/** The register after `command`; the model is deterministic, so an unknown outcome still has one successor. */
export function nextValue(current: RegisterValue, command: Command): RegisterValue {
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

/** Whether `outcome` is what the model answers for `command` on `current`. */
export function outcomeMatches(current: RegisterValue, command: Command, outcome: Outcome): boolean {
  switch (outcome.type) {
    case "put":
    case "delete":
      return command.type === outcome.type
    case "get":
      return command.type === "get" && outcome.read === current
    case "cas":
      return command.type === "cas" && outcome.succeeded === (current === command.expected)
    default:
      return assertNever(outcome, "outcome")
  }
}

export function describeOperation(operation: Operation): string {
  const { command, completion } = operation
  const show = (value: RegisterValue): string => (value === null ? "absent" : JSON.stringify(value))
  const call =
    command.type === "put" ? `put(${JSON.stringify(command.key)}, ${show(command.value)})`
    : command.type === "get" ? `get(${JSON.stringify(command.key)})`
    : command.type === "delete" ? `delete(${JSON.stringify(command.key)})`
    : `cas(${JSON.stringify(command.key)}, ${show(command.expected)} -> ${show(command.value)})`
  const outcome = completion?.outcome
  const result =
    outcome === undefined ? " -> no reply"
    : outcome.type === "get" ? ` -> ${show(outcome.read)}`
    : outcome.type === "cas" ? ` -> ${outcome.succeeded ? "succeeded" : "failed"}`
    : " -> ok"
  const interval = `[${operation.invokeTime}, ${completion === undefined ? "∞" : completion.returnTime}]`
  return `client ${operation.clientId} ${interval} ${call}${result}`
}
