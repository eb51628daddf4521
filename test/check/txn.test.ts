// Txns over several keys: components join the keys a txn touches, the map search agrees with a
// brute-force search and with the register search, generated atomic-store histories pass, planted
// anomalies (torn reads, double success, lost acknowledged writes, stale reads) are caught with
// the operations that show them, and an exhausted budget never passes as success.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { StepBudget } from "../../src/check/budget.ts"
import {
  checkHistory, describeOperation, partitionHistory, type Compare, type History, type Operation, type RegisterValue,
  type TxnRequest,
} from "../../src/check/index.ts"
import { searchMapLinearization } from "../../src/check/map-search.ts"
import { searchLinearization } from "../../src/check/register-search.ts"
import {
  bruteForceLinearizable, clientsArbitrary, commandArbitrary, randomOutcome, registerCommandArbitrary, simulateStore,
  smallHistoryArbitrary,
} from "./generators.ts"

const stepsMax = 1_000_000

const put = (key: string, value: string): TxnRequest => ({ type: "put", key, value })
const get = (key: string): TxnRequest => ({ type: "get", key })
const valueIs = (key: string, value: RegisterValue): Compare => ({ key, target: "value", op: "=", value })

interface TxnSpec {
  readonly compare?: ReadonlyArray<Compare>
  readonly success?: ReadonlyArray<TxnRequest>
  readonly failure?: ReadonlyArray<TxnRequest>
}

function txn(client: number, spec: TxnSpec, invoke: number, ret: number, succeeded: boolean, reads: ReadonlyArray<RegisterValue> = []): Operation {
  const command = { type: "txn" as const, compare: spec.compare ?? [], success: spec.success ?? [], failure: spec.failure ?? [] }
  return { clientId: client, command, invokeTime: invoke, completion: { returnTime: ret, outcome: { type: "txn", succeeded, reads } } }
}

function violationOf(history: History): { keys: ReadonlyArray<string>; operations: ReadonlyArray<Operation> } {
  const result = checkHistory(history, { stepsMax })
  if (result.kind !== "violation") return expect.fail(`expected a violation, got ${result.kind}`)
  expect(result.minimal).toBe(true)
  return result
}

const linearizable = (history: History): string => checkHistory(history, { stepsMax }).kind

describe("components", () => {
  it("joins the keys a txn touches, compares and both branches included", () => {
    const history = [
      txn(1, { compare: [valueIs("a", null)], success: [put("b", "1")], failure: [get("c")] }, 0, 1, true),
      txn(2, { success: [put("d", "1"), put("e", "1")] }, 0, 1, true),
      { clientId: 3, command: { type: "get" as const, key: "f" }, invokeTime: 2, completion: { returnTime: 3, outcome: { type: "get" as const, read: null } } },
      { clientId: 3, command: { type: "put" as const, key: "c", value: "2" }, invokeTime: 4 },
    ]
    expect(partitionHistory(history).map(({ keys, model, operations }) => ({ keys, model, count: operations.length }))).toEqual([
      { keys: ["a", "b", "c"], model: "map", count: 2 },
      { keys: ["d", "e"], model: "map", count: 1 },
      { keys: ["f"], model: "register", count: 1 },
    ])
  })

  it("checks an empty txn on its own: it always succeeds", () => {
    expect(linearizable([txn(1, {}, 0, 1, true)])).toBe("linearizable")
    expect(violationOf([txn(1, {}, 0, 1, false)]).keys).toEqual([])
  })
})

describe("the map search", () => {
  it("agrees with a brute-force search on small random histories with txns", () => {
    fc.assert(fc.property(smallHistoryArbitrary(commandArbitrary), (history) => {
      const expected = bruteForceLinearizable(history) ? "linearizable" : "violation"
      expect(linearizable(history)).toBe(expected)
    }), { numRuns: 1500 })
  })

  it("agrees with a brute-force search on generated histories with one reply changed", () => {
    const arbitrary = fc.tuple(
      clientsArbitrary(3, 3, true, false, commandArbitrary), fc.nat(), fc.option(fc.constantFrom("0", "1", "2"), { nil: null }), fc.boolean())
    fc.assert(fc.property(arbitrary, ([clients, victim, read, succeeded]) => {
      const history = [...simulateStore(clients)]
      const index = victim % Math.max(1, history.length)
      const target = history[index]
      if (target?.completion !== undefined) {
        const outcome = randomOutcome(target.command, read, succeeded)
        history[index] = { ...target, completion: { returnTime: target.completion.returnTime, outcome } }
      }
      const expected = bruteForceLinearizable(history) ? "linearizable" : "violation"
      expect(linearizable(history)).toBe(expected)
    }), { numRuns: 300 })
  })

  it("agrees with the register search on single-key histories", () => {
    fc.assert(fc.property(smallHistoryArbitrary(registerCommandArbitrary), (history) => {
      for (const key of ["a", "b"]) {
        const operations = history.filter((operation) => operation.command.type !== "txn" && operation.command.key === key)
        const register = searchLinearization(operations, null, new StepBudget(stepsMax))
        expect(searchMapLinearization(operations, new StepBudget(stepsMax))).toBe(register)
      }
    }), { numRuns: 1000 })
  })
})

describe("linearizable txn histories", () => {
  it("accepts concurrent runs of 10 clients against an atomic store, with lost replies", () => {
    fc.assert(fc.property(clientsArbitrary(10, 12, true, false, commandArbitrary), (clients) => {
      expect(linearizable(simulateStore(clients))).toBe("linearizable")
    }), { numRuns: 150 })
  })

  it("follows etcd: versions count puts since creation; a value compare on a missing key fails", () => {
    const version = (op: Compare["op"], count: number): Compare => ({ key: "a", target: "version", op, version: count })
    const writes = [txn(1, { success: [put("a", "x")] }, 0, 1, true), txn(1, { success: [put("a", "x")] }, 2, 3, true)]
    expect(linearizable([...writes, txn(2, { compare: [version("=", 2)] }, 4, 5, true)])).toBe("linearizable")
    expect(linearizable([...writes, txn(2, { compare: [version(">", 2)] }, 4, 5, false)])).toBe("linearizable")
    // All three: with either put unacknowledged, the version might have been 1 at the compare.
    expect(violationOf([...writes, txn(2, { compare: [version("=", 1)] }, 4, 5, true)]).operations).toHaveLength(3)
    const deleted = [...writes, { clientId: 1, command: { type: "delete" as const, key: "a" }, invokeTime: 4, completion: { returnTime: 5, outcome: { type: "delete" as const } } }]
    expect(linearizable([...deleted, txn(2, { compare: [version("=", 0)] }, 6, 7, true)])).toBe("linearizable")
    const notX: Compare = { key: "a", target: "value", op: "!=", value: "x" }
    expect(linearizable([txn(1, { compare: [notX] }, 0, 1, false)])).toBe("linearizable")
    expect(violationOf([txn(1, { compare: [notX] }, 0, 1, true)]).operations).toHaveLength(1)
    const below: Compare = { key: "a", target: "value", op: "<", value: "y" }
    expect(linearizable([writes[0]!, txn(2, { compare: [below] }, 2, 3, true)])).toBe("linearizable")
  })

  it("lets a branch read its own writes, as etcd does", () => {
    const history = [txn(1, { success: [put("a", "1"), get("a"), get("b")] }, 0, 1, true, ["1", null])]
    expect(linearizable(history)).toBe("linearizable")
  })
})

describe("planted txn anomalies", () => {
  const initial = txn(1, { success: [put("a", "0"), put("b", "0")] }, 0, 1, true)
  const writer = (invoke: number, ret: number): Operation => txn(2, { success: [put("a", "1"), put("b", "1")] }, invoke, ret, true)
  const reader = (invoke: number, ret: number, reads: ReadonlyArray<RegisterValue>): Operation =>
    txn(3, { success: [get("a"), get("b")] }, invoke, ret, true, reads)

  it("reports a txn that observed a torn state across two keys, even while the writer ran", () => {
    for (const history of [[initial, writer(2, 3), reader(4, 5, ["1", "0"])], [initial, writer(2, 6), reader(3, 5, ["1", "0"])]]) {
      const violation = violationOf(history)
      expect(violation.keys).toEqual(["a", "b"])
      // The reader alone: whether or not the writes happened, in any order, a and b never differ.
      expect(violation.operations).toEqual([history[2]])
    }
    // Each half of the torn state alone is fine.
    expect(linearizable([initial, writer(2, 6), reader(3, 5, ["0", "0"])])).toBe("linearizable")
    expect(linearizable([initial, writer(2, 6), reader(3, 5, ["1", "1"])])).toBe("linearizable")
  })

  it("reports a txn that succeeded twice from the same expected state", () => {
    const claim = (client: number, value: string, invoke: number, ret: number): Operation =>
      txn(client, { compare: [valueIs("a", "0")], success: [put("a", value), put("b", value)] }, invoke, ret, true)
    const sequential = [initial, claim(2, "x", 2, 3), claim(3, "y", 4, 5)]
    expect(violationOf(sequential).operations).toEqual(sequential.slice(1))
    const overlapping = [initial, claim(2, "x", 2, 6), claim(3, "y", 3, 5)]
    expect(violationOf(overlapping).operations).toEqual(overlapping.slice(1))
    // One of the two failing is fine.
    const oneFailed = [initial, claim(2, "x", 2, 6), { ...claim(3, "y", 3, 5), completion: { returnTime: 5, outcome: { type: "txn" as const, succeeded: false, reads: [] } } }]
    expect(linearizable(oneFailed)).toBe("linearizable")
  })

  it("reports an acknowledged txn write that was lost", () => {
    const history = [
      writer(0, 1),
      reader(2, 3, ["1", "1"]),
      { clientId: 4, command: { type: "get" as const, key: "b" }, invokeTime: 4, completion: { returnTime: 5, outcome: { type: "get" as const, read: null } } },
    ]
    const violation = violationOf(history)
    expect(violation.operations).toEqual([history[0], history[2]])
    expect(violation.operations.map(describeOperation)).toEqual([
      `client 2 [0, 1] txn(if true then [put("a", "1"), put("b", "1")] else []) -> succeeded`,
      `client 4 [4, 5] get("b") -> absent`,
    ])
  })

  it("reports a stale read by a txn", () => {
    const history = [initial, writer(2, 3), reader(4, 5, ["0", "0"])]
    // All three: were the initial write not acknowledged, it might have come after the writer.
    expect(violationOf(history).operations).toEqual(history)
  })

  it("finds a torn read planted in a generated 10-client history", () => {
    fc.assert(fc.property(clientsArbitrary(10, 6, false, false, commandArbitrary), (clients) => {
      const history = simulateStore(clients)
      const end = Math.max(0, ...history.map((operation) => operation.completion?.returnTime ?? operation.invokeTime)) + 1
      const planted = [
        txn(97, { success: [put("a", "old"), put("b", "old")] }, end, end + 1, true),
        txn(98, { success: [put("a", "new"), put("b", "new")] }, end + 2, end + 3, true),
        txn(99, { success: [get("a"), get("b")] }, end + 4, end + 5, true, ["new", "old"]),
      ]
      const result = checkHistory([...history, ...planted], { stepsMax: 200_000 })
      if (result.kind !== "violation") return expect.fail(`expected a violation, got ${result.kind}`)
      expect(result.keys).toContain("a")
      expect(result.operations).toContain(planted[2])
      if (result.minimal) expect(result.operations).toEqual([planted[2]])
    }), { numRuns: 20 })
  })
})

describe("budget with txns", () => {
  it("checks a 1,000-operation history of 10 clients with txns", () => {
    const clients = fc.sample(clientsArbitrary(10, 100, false, true, commandArbitrary), { numRuns: 1, seed: 7 })[0]!
    const history = simulateStore(clients)
    expect(history).toHaveLength(1000)
    expect(checkHistory(history, { stepsMax: 10_000_000 }).kind).toBe("linearizable")
  })
})
