// Property tests: random operation sequences run on the core and on the naive reference model
// (every revision's full map) must get the same answers and the same watch events. fast-check
// shrinks a failure to a short, readable sequence. Each planted bug must be caught.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  apply, newStore, kvBugNames, putRequest, rangeRequest, deleteRangeRequest, txnRequest, compare,
  encodeCommand, decodeCommand, type KvCommand, type RequestOp, type KvBugName, type Compare,
} from "../../src/kv/index.ts"
import { ReferenceModel } from "./ReferenceModel.ts"

const enc = new TextEncoder()
const bytes = (s: string) => enc.encode(s)
const key = fc.constantFrom("a", "b", "c", "d", "e").map(bytes)
const rangeEnd = fc.constantFrom("", "", "\0", "c", "e", "z").map(bytes)
const value = fc.constantFrom("", "x", "y", "zz").map(bytes)
const lease = fc.constantFrom(0n, 0n, 1n, 2n)
const revision = fc.integer({ min: -1, max: 14 })

const range = fc.record({
  key, rangeEnd, limit: fc.constantFrom(0, 0, 1, 2), revision: fc.oneof(fc.constant(0), revision),
  sortOrder: fc.constantFrom(0, 0, 1, 2), sortTarget: fc.constantFrom(0, 0, 1, 2, 3, 4),
  keysOnly: fc.boolean(), countOnly: fc.boolean(),
  minModRevision: fc.constantFrom(0, 0, 3), maxModRevision: fc.constantFrom(0, 0, 6),
  minCreateRevision: fc.constantFrom(0, 0, 2), maxCreateRevision: fc.constantFrom(0, 0, 5),
}).map((r) => rangeRequest(r as Parameters<typeof rangeRequest>[0]))
const put = fc.record({ key, value, lease, prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean() })
  .map((p) => putRequest({ ...p, value: p.ignoreValue ? new Uint8Array(0) : p.value, lease: p.ignoreLease ? 0n : p.lease }))
const deleteRange = fc.record({ key, rangeEnd, prevKv: fc.boolean() }).map((d) => deleteRangeRequest(d))
const comparison: fc.Arbitrary<Compare> = fc.tuple(key, fc.constantFrom("", "", "e").map(bytes), fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
  fc.oneof(
    fc.integer({ min: 0, max: 3 }).map((version) => ({ target: "VERSION" as const, version })),
    fc.integer({ min: 0, max: 8 }).map((createRevision) => ({ target: "CREATE" as const, createRevision })),
    fc.integer({ min: 0, max: 8 }).map((modRevision) => ({ target: "MOD" as const, modRevision })),
    value.map((v) => ({ target: "VALUE" as const, value: v })),
    lease.map((l) => ({ target: "LEASE" as const, lease: l })),
  )).map(([k, e, result, target]) => compare(k, result, target, e))

const simpleOp: fc.Arbitrary<RequestOp> = fc.oneof(
  range.map((request) => ({ type: "Range" as const, request })),
  put.map((request) => ({ type: "Put" as const, request })),
  deleteRange.map((request) => ({ type: "DeleteRange" as const, request })),
)
const txn = (ops: fc.Arbitrary<RequestOp>) => fc.record({
  compare: fc.array(comparison, { maxLength: 2 }),
  success: fc.array(ops, { maxLength: 3 }),
  failure: fc.array(ops, { maxLength: 3 }),
}).map((t) => txnRequest(t))
const op: fc.Arbitrary<RequestOp> = fc.oneof({ weight: 4, arbitrary: simpleOp },
  { weight: 1, arbitrary: txn(simpleOp).map((request) => ({ type: "Txn" as const, request })) })

const command: fc.Arbitrary<KvCommand> = fc.oneof(
  { weight: 4, arbitrary: put.map((request) => ({ type: "Put" as const, request })) },
  { weight: 3, arbitrary: range.map((request) => ({ type: "Range" as const, request })) },
  { weight: 2, arbitrary: deleteRange.map((request) => ({ type: "DeleteRange" as const, request })) },
  { weight: 3, arbitrary: txn(op).map((request) => ({ type: "Txn" as const, request })) },
  { weight: 1, arbitrary: revision.map((r) => ({ type: "Compaction" as const, request: { revision: r, physical: false } })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0n, 1n, 2n), fc.integer({ min: 0, max: 5 }))
    .map(([id, ttl]) => ({ type: "LeaseGrant" as const, request: { id, ttl } })) },
  { weight: 1, arbitrary: fc.constantFrom(1n, 2n, 3n).map((id) => ({ type: "LeaseRevoke" as const, request: { id } })) },
)

/** Plain JSON for comparison and readable counterexamples: bytes as text, bigints as "7n". */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v) =>
  v instanceof Uint8Array ? `'${new TextDecoder().decode(v)}'` : typeof v === "bigint" ? `${v}n` : v))

/** Runs the sequence on both; returns the first disagreement, if any. */
function firstDifference(commands: KvCommand[], bugs: KvBugName[] = []): string | undefined {
  const store = newStore({ bugs: new Set(bugs) })
  const model = new ReferenceModel()
  for (const [i, c] of commands.entries()) {
    let real
    try {
      real = apply(store, c)
    } catch (error) {
      return `step ${i} ${JSON.stringify(plain(c))}\n core threw: ${String(error)}`
    }
    const expected = model.apply(c)
    const got = plain({ result: real.result, events: real.events })
    const want = plain({ result: expected.result, events: expected.events })
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      return `step ${i} ${JSON.stringify(plain(c))}\n core:  ${JSON.stringify(got)}\n model: ${JSON.stringify(want)}`
    }
    // Then every readable revision, whole keyspace: history must survive compaction intact.
    for (let r = Math.max(model.compacted, 1); r <= model.current; r++) {
      const probe: KvCommand = { type: "Range", request: rangeRequest({ key: bytes("\0"), rangeEnd: bytes("\0"), revision: r }) }
      const gotAt = JSON.stringify(plain(apply(store, probe).result))
      const wantAt = JSON.stringify(plain(model.apply(probe).result))
      if (gotAt !== wantAt) return `after step ${i} ${JSON.stringify(plain(c))}, reading revision ${r}\n core:  ${gotAt}\n model: ${wantAt}`
    }
  }
  return undefined
}

describe("the core agrees with the reference model", () => {
  it("on random sequences of Put, Range, DeleteRange, Txn, Compact and leases", () => {
    fc.assert(fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
      const difference = firstDifference(commands)
      expect(difference, difference).toBeUndefined()
    }), { numRuns: 400, seed: 4242 })
  })

  it("encodeCommand/decodeCommand round-trip every command", () => {
    fc.assert(fc.property(command, (c) => {
      expect(plain(decodeCommand(encodeCommand(c)))).toEqual(plain(c))
    }), { numRuns: 2000 })
  })

  it("an encoded command survives later encodes (one reused buffer, a shared pool)", () => {
    const prefixBytes = 9
    fc.assert(fc.property(fc.array(command, { minLength: 1, maxLength: 30 }), (commands) => {
      const encoded = commands.map((c) => encodeCommand(c, prefixBytes))
      encoded.forEach((data, i) => {
        expect([...data.subarray(0, prefixBytes)]).toEqual(new Array(prefixBytes).fill(0))
        expect(plain(decodeCommand(data, prefixBytes))).toEqual(plain(commands[i]!))
      })
    }), { numRuns: 300 })
  })
})

describe("each planted bug is caught", () => {
  for (const bug of kvBugNames()) {
    it(bug, () => {
      const run = fc.check(fc.property(fc.array(command, { maxLength: 40 }),
        (commands) => firstDifference(commands, [bug]) === undefined), { numRuns: 2000, seed: 7 })
      expect(run.failed).toBe(true)
      const shrunk = run.counterexample![0]
      console.log(`${bug}: shrunk to ${shrunk.length} commands\n${firstDifference(shrunk, [bug])}`)
      expect(shrunk.length).toBeLessThanOrEqual(8)
    })
  }
})
