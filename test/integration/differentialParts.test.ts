// The pure parts of the differential suite, without etcd: what it refuses to send, where it sets
// etcd's accidental order aside, and how it names a difference.
import { describe, expect, it } from "vitest"
import {
  deleteRangeRequest,
  putRequest,
  rangeRequest,
  SortOrder,
  SortTarget,
  txnRequest,
  utf8,
  type KeyValue,
  type KvResult,
} from "../../src/kv/index.ts"
import { fieldDifferences } from "./FieldDiff.ts"
import { prefixEnd, withoutEtcdPanic } from "./OpGenerator.ts"
import { withoutTieOrder } from "./TieOrder.ts"

const everyKeyFrom = (key: string) => deleteRangeRequest({ key: utf8(key), rangeEnd: new Uint8Array([0]) })

describe("withoutEtcdPanic", () => {
  it("drops ignore flags when a delete to \\0 covers a later put's key, even in a nested Txn", () => {
    const txn = txnRequest({
      success: [
        { type: "DeleteRange", request: everyKeyFrom("b") },
        { type: "Txn", request: txnRequest({ failure: [{ type: "Put", request: putRequest({ key: utf8("c"), ignoreLease: true }) }] }) },
      ],
    })
    const safe = withoutEtcdPanic(txn)
    const nested = safe.success[1]
    expect(nested?.type === "Txn" && nested.request.failure[0]).toMatchObject({ type: "Put", request: { ignoreLease: false } })
  })

  it("leaves a Txn alone when no open-ended delete covers the put", () => {
    const txn = txnRequest({
      success: [
        { type: "DeleteRange", request: everyKeyFrom("d") },
        { type: "Put", request: putRequest({ key: utf8("c"), ignoreValue: true }) },
      ],
    })
    expect(withoutEtcdPanic(txn)).toBe(txn)
  })
})

describe("withoutTieOrder", () => {
  const kv = (key: string, version: number): KeyValue => ({
    key: utf8(key),
    createRevision: 2,
    modRevision: 2,
    version,
    value: new Uint8Array(),
    lease: 0n,
  })
  const byVersion = (limit: number) =>
    ({ type: "Range", request: rangeRequest({ key: utf8("a"), rangeEnd: utf8("z"), limit, sortOrder: SortOrder.ASCEND, sortTarget: SortTarget.VERSION }) }) as const
  const answer = (kvs: KeyValue[], count: number, more: boolean): KvResult => ({
    type: "Range",
    response: { header: { revision: 9 }, kvs, more, count },
  })

  it("compares tie order up to 12 keys, where Go's sort is an insertion sort", () => {
    const etcd = answer([kv("b", 1), kv("a", 1)], 12, false)
    const core = answer([kv("a", 1), kv("b", 1)], 12, false)
    const neutral = (result: KvResult) => withoutTieOrder(byVersion(0), result).result
    expect(fieldDifferences(neutral(etcd), neutral(core))).not.toEqual([])
  })

  it("sets tie order aside beyond 12 keys, and which tied keys a limit kept", () => {
    const etcd = answer([kv("q", 1), kv("p", 1), kv("z", 2), kv("x", 2)], 20, true)
    const core = answer([kv("p", 1), kv("q", 1), kv("w", 2), kv("x", 2)], 20, true)
    const neutral = (result: KvResult) => withoutTieOrder(byVersion(4), result)
    expect(neutral(etcd).neutralised).toBe(true)
    expect(fieldDifferences(neutral(etcd).result, neutral(core).result)).toEqual([])
    const wrongVersion = answer([kv("p", 1), kv("q", 1), kv("w", 2), kv("x", 3)], 20, true)
    expect(fieldDifferences(neutral(etcd).result, neutral(wrongVersion).result)).not.toEqual([])
  })
})

describe("fieldDifferences", () => {
  it("names the differing field by its path and prints bytes as text", () => {
    const etcd = { response: { kvs: [{ key: utf8("k\u0000"), version: 2 }] } }
    const core = { response: { kvs: [{ key: utf8("k\u0000"), version: 3 }] } }
    expect(fieldDifferences(etcd, core)).toEqual([{ path: "response.kvs[0].version", etcd: "2", core: "3" }])
    expect(fieldDifferences({ key: utf8("a\u0000") }, { key: utf8("a") })).toEqual([
      { path: "key", etcd: '"a\\\\x00"', core: '"a"' },
    ])
  })
})

describe("prefixEnd", () => {
  it("is the first key after every key with the prefix", () => {
    expect(prefixEnd(utf8("s0001/"))).toEqual(utf8("s00010"))
    expect(prefixEnd(new Uint8Array([0x61, 0xff]))).toEqual(new Uint8Array([0x62]))
  })
})
