// The linearizability checker: generated linearizable histories pass, planted anomalies are
// reported with the operations that show them, and an exhausted budget never passes as success.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkHistory, describeOperation, type Command, type History, type Operation, type Outcome } from "../../src/check/index.ts"
import { bruteForceLinearizable, clientsArbitrary, commandArbitrary, registerCommandArbitrary, simulateStore, smallHistoryArbitrary } from "./generators.ts"

const stepsMax = 1_000_000

function done(clientId: number, command: Command, invokeTime: number, returnTime: number, outcome: Outcome): Operation {
  return { clientId, command, invokeTime, completion: { returnTime, outcome } }
}
const put = (client: number, value: string, invoke: number, ret: number): Operation =>
  done(client, { type: "put", key: "x", value }, invoke, ret, { type: "put" })
const get = (client: number, read: string | null, invoke: number, ret: number): Operation =>
  done(client, { type: "get", key: "x" }, invoke, ret, { type: "get", read })
const cas = (client: number, expected: string | null, value: string, succeeded: boolean, invoke: number, ret: number): Operation =>
  done(client, { type: "cas", key: "x", expected, value }, invoke, ret, { type: "cas", succeeded })
const lostPut = (client: number, value: string, invoke: number): Operation =>
  ({ clientId: client, command: { type: "put", key: "x", value }, invokeTime: invoke })

function violationOf(history: History): { keys: ReadonlyArray<string>; operations: ReadonlyArray<Operation> } {
  const result = checkHistory(history, { stepsMax })
  if (result.kind !== "violation") expect.fail(`expected a violation, got ${result.kind}`)
  expect(result.minimal).toBe(true)
  return result
}

describe("linearizable histories", () => {
  it("accepts sequential runs of 10 clients", () => {
    fc.assert(fc.property(clientsArbitrary(10, 8, false), (clients) => {
      // Zero delays inside calls: every call is an instant, so the run is sequential in real time.
      const instant = clients.map((calls) => calls.map((call) => ({ ...call, effectDelay: 0, replyDelay: 0 })))
      expect(checkHistory(simulateStore(instant), { stepsMax }).kind).toBe("linearizable")
    }), { numRuns: 100 })
  })

  it("accepts concurrent runs against a linearizable register, with lost replies", () => {
    fc.assert(fc.property(clientsArbitrary(10, 12, true), (clients) => {
      expect(checkHistory(simulateStore(clients), { stepsMax }).kind).toBe("linearizable")
    }), { numRuns: 150 })
  })

  it("agrees with a brute-force search on small random histories", () => {
    fc.assert(fc.property(smallHistoryArbitrary(registerCommandArbitrary), (history) => {
      const expected = bruteForceLinearizable(history) ? "linearizable" : "violation"
      expect(checkHistory(history, { stepsMax }).kind).toBe(expected)
    }), { numRuns: 1500 })
  })
})

describe("planted anomalies", () => {
  it("reports a stale read with the write it missed", () => {
    const history = [put(1, "1", 0, 1), put(2, "2", 2, 3), get(3, "1", 4, 5), get(1, "2", 6, 7)]
    const violation = violationOf(history)
    expect(violation.keys).toEqual(["x"])
    expect(violation.operations).toEqual([history[0], history[1], history[2]])
  })

  it("reports a lost acknowledged write", () => {
    const history = [put(1, "1", 0, 1), put(2, "2", 2, 3), get(3, "1", 4, 5), get(1, "1", 6, 7), get(2, "1", 8, 9)]
    expect(violationOf(history).operations).toEqual([history[0], history[1], history[2]])
  })

  it("reports a CAS that succeeded twice from the same value, even when the two overlap", () => {
    const sequential = [put(1, "0", 0, 1), cas(2, "0", "a", true, 2, 3), cas(3, "0", "b", true, 4, 5)]
    // The put of "0" is not reported: even if it may or may not have happened, "0" was there once.
    expect(violationOf(sequential).operations).toEqual(sequential.slice(1))
    const overlapping = [put(1, "0", 0, 1), cas(2, "0", "a", true, 2, 6), cas(3, "0", "b", true, 3, 5), get(1, "b", 7, 8)]
    expect(violationOf(overlapping).operations).toEqual(overlapping.slice(1, 3))
  })

  it("finds a stale read planted in a generated 10-client history", () => {
    fc.assert(fc.property(clientsArbitrary(10, 6, false), fc.constantFrom("a", "b", "c"), (clients, key) => {
      const history = simulateStore(clients)
      const end = Math.max(0, ...history.map((operation) => operation.completion?.returnTime ?? operation.invokeTime)) + 1
      const command = (value: string): Command => ({ type: "put", key, value })
      const planted = [
        done(97, command("old"), end, end + 1, { type: "put" }),
        done(98, command("new"), end + 2, end + 3, { type: "put" }),
        done(99, { type: "get", key }, end + 4, end + 5, { type: "get", read: "old" }),
      ]
      // A small budget keeps this fast; shrinking may stop early, but the violation stays proven.
      const result = checkHistory([...history, ...planted], { stepsMax: 200_000 })
      if (result.kind !== "violation") return expect.fail(`expected a violation, got ${result.kind}`)
      expect(result.keys).toEqual([key])
      expect(result.operations).toContain(planted[2])
      if (result.minimal) expect(result.operations).toEqual(planted)
    }), { numRuns: 40 })
  })
})

describe("operations without a reply", () => {
  it("may take effect", () => {
    expect(checkHistory([lostPut(1, "1", 0), get(2, "1", 5, 6)], { stepsMax }).kind).toBe("linearizable")
  })

  it("may not take effect", () => {
    expect(checkHistory([lostPut(1, "1", 0), get(2, null, 5, 6)], { stepsMax }).kind).toBe("linearizable")
  })

  it("cannot take effect and then be undone", () => {
    const history = [lostPut(1, "1", 0), get(2, "1", 5, 6), get(3, null, 7, 8)]
    const violation = violationOf(history)
    expect(violation.operations).toEqual(history.slice(1))
    expect(violation.operations.map(describeOperation)).toEqual([
      "client 2 [5, 6] get(\"x\") -> \"1\"",
      "client 3 [7, 8] get(\"x\") -> absent",
    ])
  })
})

describe("budget", () => {
  it.each([["single-key commands", registerCommandArbitrary], ["txns", commandArbitrary]])(
    "says unknown when the budget is too small, never linearizable (%s)", (_, commands) => {
    fc.assert(fc.property(clientsArbitrary(10, 12, true, false, commands), (clients) => {
      const history = simulateStore(clients)
      fc.pre(history.some((operation) => operation.completion !== undefined))
      expect(checkHistory(history, { stepsMax: 0 })).toMatchObject({ kind: "unknown", reason: "budget", stepsUsed: 0 })
      const full = checkHistory(history, { stepsMax })
      expect(full.kind).toBe("linearizable")
      const short = checkHistory(history, { stepsMax: Math.max(0, full.stepsUsed - 1) })
      expect(short.kind).toBe("unknown")
    }), { numRuns: 50 })
  })

  it("checks a 1,000-operation history of 10 clients with lost replies", () => {
    const clients = fc.sample(clientsArbitrary(10, 100, true, true), { numRuns: 1, seed: 7 })[0]!
    const history = simulateStore(clients)
    expect(history).toHaveLength(1000)
    expect(checkHistory(history, { stepsMax: 10_000_000 }).kind).toBe("linearizable")
  })
})
