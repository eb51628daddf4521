// Histories for the checker tests: clients run against a simulated linearizable register (each
// operation takes effect at one instant inside its interval), and a brute-force reference checker.
import fc from "fast-check"
import { nextValue, outcomeMatches, type Command, type History, type Operation, type Outcome, type RegisterValue } from "../../src/check/index.ts"

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

export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
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

export function plannedCallArbitrary(lostAllowed: boolean): fc.Arbitrary<PlannedCall> {
  return fc.record({
    command: commandArbitrary,
    thinkTime: fc.integer({ min: 0, max: 5 }),
    effectDelay: fc.integer({ min: 0, max: 20 }),
    replyDelay: fc.integer({ min: 0, max: 20 }),
    lost: lostAllowed ? fc.option(fc.record({ takesEffect: fc.boolean() }), { nil: undefined, freq: 10 }) : fc.constant(undefined),
  })
}

export function clientsArbitrary(
  clients: number,
  callsMax: number,
  lostAllowed: boolean,
  exact = false,
): fc.Arbitrary<Array<Array<PlannedCall>>> {
  const calls = fc.array(plannedCallArbitrary(lostAllowed), { minLength: exact ? callsMax : 0, maxLength: callsMax })
  return fc.array(calls, { minLength: exact ? clients : 1, maxLength: clients })
}

function outcomeOf(command: Command, current: RegisterValue): Outcome {
  switch (command.type) {
    case "get":
      return { type: "get", read: current }
    case "cas":
      return { type: "cas", succeeded: current === command.expected }
    default:
      return { type: command.type }
  }
}

/**
 * Runs each client's calls one after another; every call takes effect at one instant between its
 * invocation and its reply, so the history is linearizable by construction. A client whose call
 * is lost carries on under a new id once the call's timeout has passed.
 */
export function simulateRegister(clients: ReadonlyArray<ReadonlyArray<PlannedCall>>): History {
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
  const values = new Map<string, RegisterValue>()
  const history: Array<Operation> = []
  for (const { clientId, call, invokeTime, effectTime } of scheduled.sort((a, b) => a.effectTime - b.effectTime)) {
    const key = call.command.key
    if (call.lost !== undefined) {
      if (call.lost.takesEffect) values.set(key, nextValue(values.get(key) ?? null, call.command))
      history.push({ clientId, command: call.command, invokeTime })
      continue
    }
    const current = values.get(key) ?? null
    values.set(key, nextValue(current, call.command))
    const completion = { returnTime: effectTime + call.replyDelay, outcome: outcomeOf(call.command, current) }
    history.push({ clientId, command: call.command, invokeTime, completion })
  }
  return history.sort((a, b) => a.invokeTime - b.invokeTime)
}

/** Exhaustive reference: tries every real-time-respecting order (for a handful of operations). */
export function bruteForceLinearizable(operations: ReadonlyArray<Operation>): boolean {
  const explore = (remaining: ReadonlyArray<Operation>, values: ReadonlyMap<string, RegisterValue>): boolean => {
    const completed = remaining.filter((operation) => operation.completion !== undefined)
    if (completed.length === 0) return true
    const earliestReturn = Math.min(...completed.map((operation) => operation.completion!.returnTime))
    return remaining.some((operation, index) => {
      if (operation.invokeTime > earliestReturn) return false
      const current = values.get(operation.command.key) ?? null
      if (operation.completion !== undefined && !outcomeMatches(current, operation.command, operation.completion.outcome)) {
        return false
      }
      const after = new Map(values).set(operation.command.key, nextValue(current, operation.command))
      return explore(remaining.filter((_, other) => other !== index), after)
    })
  }
  return explore(operations, new Map())
}

/** Small arbitrary histories: random intervals and random (often wrong) results. */
export const smallHistoryArbitrary: fc.Arbitrary<History> = fc.array(
  fc.record({
    clientId: fc.integer({ min: 0, max: 3 }),
    command: commandArbitrary.map((command) => ({ ...command, key: command.key === "c" ? "a" : command.key })),
    invokeTime: fc.integer({ min: 0, max: 20 }),
    duration: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined, freq: 6 }),
    read: fc.option(valueArbitrary, { nil: null }),
    succeeded: fc.boolean(),
  }).map(({ clientId, command, invokeTime, duration, read, succeeded }): Operation => {
    if (duration === undefined) return { clientId, command, invokeTime }
    const outcome: Outcome =
      command.type === "get" ? { type: "get", read }
      : command.type === "cas" ? { type: "cas", succeeded }
      : { type: command.type }
    return { clientId, command, invokeTime, completion: { returnTime: invokeTime + duration, outcome } }
  }),
  { maxLength: 7 },
)
