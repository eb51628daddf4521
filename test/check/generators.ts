// Histories for the checker tests: clients run against a simulated atomic etcd store (each
// operation takes effect at one instant inside its interval), and a brute-force reference checker.
// The store here is written apart from src/check/txn-model.ts, so the two cross-check each other.
import fc from "fast-check"
import { isDeepStrictEqual } from "node:util"
import {
  keysOf, type Command, type Compare, type History, type Operation, type Outcome, type RegisterValue, type TxnRequest,
} from "../../src/check/index.ts"

export interface PlannedCall {
  readonly command: Command
  readonly thinkTime: number
  readonly effectDelay: number
  readonly replyDelay: number
  /** The client never hears back; `takesEffect` says whether the command was applied anyway. */
  readonly lost: { readonly takesEffect: boolean } | undefined
}

const keyArbitrary = fc.constantFrom("a", "b", "c")
const valueArbitrary = fc.constantFrom("0", "1", "2", "3")

export const registerCommandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: keyArbitrary, value: valueArbitrary }),
  fc.record({ type: fc.constant("get" as const), key: keyArbitrary }),
  fc.record({ type: fc.constant("delete" as const), key: keyArbitrary }),
  fc.record({
    type: fc.constant("cas" as const),
    key: keyArbitrary,
    expected: fc.option(valueArbitrary, { nil: null }),
    value: valueArbitrary,
  }),
)

const compareArbitrary: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({
    key: keyArbitrary, target: fc.constant("value" as const), op: fc.constantFrom("=" as const, "!=" as const),
    value: fc.option(valueArbitrary, { nil: null }),
  }),
  fc.record({
    key: keyArbitrary, target: fc.constant("value" as const), op: fc.constantFrom("<" as const, ">" as const),
    value: valueArbitrary,
  }),
  fc.record({
    key: keyArbitrary, target: fc.constant("version" as const), op: fc.constantFrom("=" as const, "!=" as const, "<" as const, ">" as const),
    version: fc.integer({ min: 0, max: 3 }),
  }),
)

const requestArbitrary: fc.Arbitrary<TxnRequest> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: keyArbitrary, value: valueArbitrary }),
  fc.record({ type: fc.constant("get" as const), key: keyArbitrary }),
  fc.record({ type: fc.constant("delete" as const), key: keyArbitrary }),
)

export const txnArbitrary: fc.Arbitrary<Command> = fc.record({
  type: fc.constant("txn" as const),
  compare: fc.array(compareArbitrary, { maxLength: 2 }),
  success: fc.array(requestArbitrary, { maxLength: 3 }),
  failure: fc.array(requestArbitrary, { maxLength: 2 }),
})

export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: registerCommandArbitrary, weight: 2 },
  { arbitrary: txnArbitrary, weight: 1 },
)

export function plannedCallArbitrary(lostAllowed: boolean, commands = registerCommandArbitrary): fc.Arbitrary<PlannedCall> {
  return fc.record({
    command: commands,
    thinkTime: fc.integer({ min: 0, max: 5 }),
    effectDelay: fc.integer({ min: 0, max: 20 }),
    replyDelay: fc.integer({ min: 0, max: 20 }),
    // One call in ten loses its reply (fc.option's freq would make nine in ten lost).
    lost: lostAllowed
      ? fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary: fc.record({ takesEffect: fc.boolean() }), weight: 1 })
      : fc.constant(undefined),
  })
}

export function clientsArbitrary(
  clients: number,
  callsMax: number,
  lostAllowed: boolean,
  exact = false,
  commands = registerCommandArbitrary,
): fc.Arbitrary<Array<Array<PlannedCall>>> {
  const calls = fc.array(plannedCallArbitrary(lostAllowed, commands), { minLength: exact ? callsMax : 0, maxLength: callsMax })
  return fc.array(calls, { minLength: exact ? clients : 1, maxLength: clients })
}

/** An etcd key: absent keys are not in the map. */
interface Entry { readonly value: string; readonly version: number }
type Store = Map<string, Entry>

function compareHolds(store: Store, compare: Compare): boolean {
  const entry = store.get(compare.key)
  const order = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0)
  let result: number
  if (compare.target === "version") result = order(entry?.version ?? 0, compare.version)
  else if (compare.value === null) result = entry === undefined ? 0 : 1
  else if (entry === undefined) return false // etcd: a value compare on a missing key fails
  else result = order(entry.value, compare.value) // test values are ASCII: code units order as bytes do
  return { "=": result === 0, "!=": result !== 0, "<": result < 0, ">": result > 0 }[compare.op]
}

function runRequest(store: Store, request: TxnRequest): RegisterValue | undefined {
  if (request.type === "get") return store.get(request.key)?.value ?? null
  if (request.type === "delete") store.delete(request.key)
  else store.set(request.key, { value: request.value, version: (store.get(request.key)?.version ?? 0) + 1 })
  return undefined
}

/** Applies `command` to `store` (in place) and returns the reply etcd would give. */
export function applyToStore(store: Store, command: Command): Outcome {
  switch (command.type) {
    case "put":
    case "delete":
      runRequest(store, command)
      return { type: command.type }
    case "get":
      return { type: "get", read: store.get(command.key)?.value ?? null }
    case "cas": {
      const current = store.get(command.key)?.value ?? null
      if (current !== command.expected) return { type: "cas", succeeded: false }
      runRequest(store, { type: "put", key: command.key, value: command.value })
      return { type: "cas", succeeded: true }
    }
    case "txn": {
      const succeeded = command.compare.every((compare) => compareHolds(store, compare))
      const reads = (succeeded ? command.success : command.failure)
        .map((request) => runRequest(store, request))
        .filter((read): read is RegisterValue => read !== undefined)
      return { type: "txn", succeeded, reads }
    }
  }
}

/**
 * Runs each client's calls one after another; every call takes effect at one instant between its
 * invocation and its reply, so the history is linearizable by construction. A client whose call
 * is lost carries on under a new id once the call's timeout has passed.
 */
export function simulateStore(clients: ReadonlyArray<ReadonlyArray<PlannedCall>>): History {
  interface Pending { clientId: number; call: PlannedCall; invokeTime: number; effectTime: number }
  const scheduled: Array<Pending> = []
  clients.forEach((calls, client) => {
    let clock = 0
    let clientId = client
    for (const call of calls) {
      const invokeTime = clock + call.thinkTime
      const effectTime = invokeTime + call.effectDelay
      scheduled.push({ clientId, call, invokeTime, effectTime })
      clock = effectTime + call.replyDelay
      // Like Jepsen, a client that lost a reply gives up on it and carries on under a new id.
      if (call.lost !== undefined) clientId += clients.length
    }
  })
  const store: Store = new Map()
  const history: Array<Operation> = []
  for (const { clientId, call, invokeTime, effectTime } of scheduled.sort((a, b) => a.effectTime - b.effectTime)) {
    if (call.lost !== undefined) {
      if (call.lost.takesEffect) applyToStore(store, call.command)
      history.push({ clientId, command: call.command, invokeTime })
      continue
    }
    const completion = { returnTime: effectTime + call.replyDelay, outcome: applyToStore(store, call.command) }
    history.push({ clientId, command: call.command, invokeTime, completion })
  }
  return history.sort((a, b) => a.invokeTime - b.invokeTime)
}

/** Exhaustive reference: tries every real-time-respecting order (for a handful of operations). */
export function bruteForceLinearizable(operations: ReadonlyArray<Operation>): boolean {
  const explore = (remaining: ReadonlyArray<Operation>, store: Store): boolean => {
    const completed = remaining.filter((operation) => operation.completion !== undefined)
    if (completed.length === 0) return true
    const earliestReturn = Math.min(...completed.map((operation) => operation.completion!.returnTime))
    return remaining.some((operation, index) => {
      if (operation.invokeTime > earliestReturn) return false
      const after = new Map(store)
      const outcome = applyToStore(after, operation.command)
      if (operation.completion !== undefined && !isDeepStrictEqual(outcome, operation.completion.outcome)) {
        return false
      }
      return explore(remaining.filter((_, other) => other !== index), after)
    })
  }
  return explore(operations, new Map())
}

/** A reply of the right shape for `command`, with random contents (often wrong). */
export function randomOutcome(command: Command, read: RegisterValue, succeeded: boolean): Outcome {
  switch (command.type) {
    case "get":
      return { type: "get", read }
    case "cas":
      return { type: "cas", succeeded }
    case "txn": {
      const gets = (succeeded ? command.success : command.failure).filter((request) => request.type === "get")
      return { type: "txn", succeeded, reads: gets.map((_, index) => (index % 2 === 0 ? read : null)) }
    }
    default:
      return { type: command.type }
  }
}

/** Small arbitrary histories over keys "a" and "b": random intervals and random (often wrong) results. */
export function smallHistoryArbitrary(commands: fc.Arbitrary<Command>): fc.Arbitrary<History> {
  const twoKeys = commands.filter((command) => keysOf(command).every((key) => key !== "c"))
  return fc.array(
    fc.record({
      clientId: fc.integer({ min: 0, max: 3 }),
      command: twoKeys,
      invokeTime: fc.integer({ min: 0, max: 20 }),
      duration: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined, freq: 6 }),
      read: fc.option(fc.constantFrom("0", "1"), { nil: null }),
      succeeded: fc.boolean(),
    }).map(({ clientId, command, invokeTime, duration, read, succeeded }): Operation => {
      if (duration === undefined) return { clientId, command, invokeTime }
      const outcome = randomOutcome(command, read, succeeded)
      return { clientId, command, invokeTime, completion: { returnTime: invokeTime + duration, outcome } }
    }),
    { maxLength: 7 },
  )
}
