// One scenario per etcd 3.4 rule the KV core reproduces (expected values worked out from etcd's
// source: etcdserver/apply.go, mvcc/kvstore_txn.go, mvcc/key_index.go, v3rpc/key.go, lessor.go).
import { describe, expect, it } from "vitest"
import {
  apply, newStore, KvErrors, SortOrder, SortTarget, txnRequest, putOp, rangeOp, deleteRangeOp, txnOp,
  putRequest, rangeRequest, deleteRangeRequest, compare, CompareResult, leaseTimeToLive, leaseLeases,
  minLeaseTtlSeconds,
} from "../../src/kv/index.ts"
import { b, del, err, get, keysOf, ok, put, text } from "./helpers.ts"

describe("revisions", () => {
  it("a new store is at revision 1 and each write advances it by one", () => {
    const s = newStore()
    expect(ok(get(s, "a"), "Range").header.revision).toBe(1)
    expect(ok(put(s, "a", "1"), "Put").header.revision).toBe(2)
    expect(ok(put(s, "a", "2"), "Put").header.revision).toBe(3)
    const kv = ok(get(s, "a"), "Range").kvs[0]!
    expect([kv.createRevision, kv.modRevision, kv.version, text(kv.value)]).toEqual([2, 3, 2, "2"])
  })

  it("a delete of nothing does not advance the revision; recreating starts a new generation", () => {
    const s = newStore()
    expect(ok(del(s, "a"), "DeleteRange")).toMatchObject({ deleted: 0, header: { revision: 1 } })
    put(s, "a", "x")
    expect(ok(del(s, "a"), "DeleteRange")).toMatchObject({ deleted: 1, header: { revision: 3 } })
    put(s, "a", "y")
    const kv = ok(get(s, "a"), "Range").kvs[0]!
    expect([kv.createRevision, kv.version]).toEqual([4, 1])
    expect(keysOf(get(s, "a", { revision: 3 }))).toEqual([])
    expect(text(ok(get(s, "a", { revision: 2 }), "Range").kvs[0]!.value)).toBe("x")
  })
})

describe("range", () => {
  const filled = () => {
    const s = newStore()
    for (const [k, v] of [["a", "3"], ["b", "1"], ["c", "2"], ["d", "1"]] as const) put(s, k, v)
    put(s, "b", "9")
    return s
  }

  it("single key, range, prefix-style end and the \\0 end", () => {
    const s = filled()
    expect(keysOf(get(s, "b"))).toEqual(["b"])
    expect(keysOf(get(s, "b", { rangeEnd: b("d") }))).toEqual(["b", "c"])
    expect(keysOf(get(s, "b", { rangeEnd: b("\0") }))).toEqual(["b", "c", "d"])
    expect(keysOf(get(s, "\0", { rangeEnd: b("\0") }))).toEqual(["a", "b", "c", "d"])
  })

  it("limit sets more, count is the total before the limit; count_only and keys_only", () => {
    const s = filled()
    const r = ok(get(s, "a", { rangeEnd: b("\0"), limit: 2 }), "Range")
    expect([r.kvs.length, r.more, r.count]).toEqual([2, true, 4])
    const c = ok(get(s, "a", { rangeEnd: b("\0"), countOnly: true }), "Range")
    expect([c.kvs.length, c.count, c.more]).toEqual([0, 4, false])
    const k = ok(get(s, "a", { rangeEnd: b("\0"), keysOnly: true }), "Range")
    expect(k.kvs.every((kv) => kv.value.length === 0)).toBe(true)
  })

  it("sorts by a target (NONE + non-KEY target means ASCEND) and DESCEND keeps key order on ties", () => {
    const s = filled()
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), sortTarget: SortTarget.VALUE }))).toEqual(["d", "c", "a", "b"])
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.VERSION })))
      .toEqual(["b", "a", "c", "d"])
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), sortOrder: SortOrder.DESCEND }))).toEqual(["d", "c", "b", "a"])
  })

  it("an implicit sort works on the limit+1 fetch, an explicit one on everything", () => {
    const s = filled()
    // NONE + VALUE: fetch a, b, c (limit 2 + 1), sort by value → c(2), a(3), b(9), keep 2.
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), limit: 2, sortTarget: SortTarget.VALUE }))).toEqual(["c", "a"])
    // ASCEND + VALUE: everything is fetched and sorted: d(1), c(2), a(3), b(9), keep 2.
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), limit: 2, sortOrder: SortOrder.ASCEND, sortTarget: SortTarget.VALUE })))
      .toEqual(["d", "c"])
  })

  it("mod and create revision filters", () => {
    const s = filled() // a@2 b@3→6 c@4 d@5
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), minModRevision: 5 }))).toEqual(["b", "d"])
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), maxCreateRevision: 3 }))).toEqual(["a", "b"])
    const r = ok(get(s, "a", { rangeEnd: b("\0"), minModRevision: 5, limit: 1 }), "Range")
    expect([keysOf({ type: "Range", response: r }), r.more, r.count]).toEqual([["b"], true, 4])
  })

  it("historical reads keep the current revision in the header; future and compacted revisions fail", () => {
    const s = filled()
    const r = ok(get(s, "b", { revision: 3 }), "Range")
    expect([text(r.kvs[0]!.value), r.header.revision]).toEqual(["1", 6])
    expect(err(get(s, "b", { revision: 7 }))).toEqual(KvErrors.futureRevision)
    ok(apply(s, { type: "Compaction", request: { revision: 4, physical: false } }).result, "Compaction")
    expect(err(get(s, "b", { revision: 3 }))).toEqual(KvErrors.compacted)
    expect(text(ok(get(s, "b", { revision: 4 }), "Range").kvs[0]!.value)).toBe("1")
  })

  it("an empty key is refused", () => {
    expect(err(get(newStore(), ""))).toEqual(KvErrors.emptyKey)
  })
})

describe("put", () => {
  it("ignore_value and ignore_lease keep the old ones and need the key", () => {
    const s = newStore()
    ok(apply(s, { type: "LeaseGrant", request: { id: 7n, ttl: 10 } }).result, "LeaseGrant")
    expect(err(put(s, "a", "", { ignoreValue: true }))).toEqual(KvErrors.keyNotFound)
    put(s, "a", "v", { lease: 7n })
    put(s, "a", "", { ignoreValue: true, ignoreLease: true })
    const kv = ok(get(s, "a"), "Range").kvs[0]!
    expect([text(kv.value), kv.lease, kv.version]).toEqual(["v", 7n, 2])
    expect(err(put(s, "a", "x", { ignoreValue: true }))).toEqual(KvErrors.valueProvided)
    expect(err(put(s, "a", "", { ignoreLease: true, lease: 7n }))).toEqual(KvErrors.leaseProvided)
    expect(err(put(s, "a", "x", { lease: 8n }))).toEqual(KvErrors.leaseNotFound)
  })

  it("a put with lease 0 detaches the key from its lease", () => {
    const s = newStore()
    apply(s, { type: "LeaseGrant", request: { id: 7n, ttl: 10 } })
    put(s, "a", "v", { lease: 7n })
    put(s, "a", "w")
    expect(leaseTimeToLive(s, { id: 7n, keys: true }).keys).toEqual([])
    apply(s, { type: "LeaseRevoke", request: { id: 7n } })
    expect(keysOf(get(s, "a"))).toEqual(["a"])
  })
})

describe("txn", () => {
  it("compares over ranges and missing keys; VALUE on a missing key always fails", () => {
    const s = newStore()
    put(s, "a", "1")
    put(s, "b", "1")
    const run = (c: ReturnType<typeof compare>) =>
      ok(apply(s, { type: "Txn", request: txnRequest({ compare: [c] }) }).result, "Txn").succeeded
    expect(run(compare(b("a"), CompareResult.EQUAL, { target: "VALUE", value: b("1") }, b("c")))).toBe(true)
    expect(run(compare(b("a"), CompareResult.GREATER, { target: "MOD", modRevision: 2 }, b("c")))).toBe(false)
    expect(run(compare(b("z"), CompareResult.EQUAL, { target: "VERSION", version: 0 }))).toBe(true)
    expect(run(compare(b("z"), CompareResult.NOT_EQUAL, { target: "VALUE", value: b("1") }))).toBe(false)
    expect(run(compare(b("z"), CompareResult.LESS, { target: "CREATE", createRevision: 1 }))).toBe(true)
  })

  it("one revision per txn, sub-revisions per op; nested txns see the state before the txn", () => {
    const s = newStore()
    put(s, "a", "1") // rev 2
    const inner = txnRequest({
      compare: [compare(b("a"), CompareResult.EQUAL, { target: "VALUE", value: b("1") })],
      success: [putOp(putRequest({ key: b("c"), value: b("inner") }))],
    })
    const response = ok(apply(s, { type: "Txn", request: txnRequest({
      success: [putOp(putRequest({ key: b("a"), value: b("2") })), txnOp(inner), rangeOp(rangeRequest({ key: b("a") }))],
    }) }).result, "Txn")
    expect(response.header.revision).toBe(3)
    const [p, t, r] = response.responses
    expect(p).toMatchObject({ type: "Put", response: { header: { revision: 3 } } })
    expect(t).toMatchObject({ type: "Txn", response: { header: { revision: 0 }, succeeded: true } })
    expect(r?.type === "Range" && text(r.response.kvs[0]!.value)).toBe("2")
    expect(text(ok(get(s, "c"), "Range").kvs[0]!.value)).toBe("inner")
  })

  it("a txn that only reads, or writes nothing, keeps the revision", () => {
    const s = newStore()
    put(s, "a")
    const readOnly = ok(apply(s, { type: "Txn", request: txnRequest({ success: [rangeOp(rangeRequest({ key: b("a") }))] }) }).result, "Txn")
    expect(readOnly.header.revision).toBe(2)
    const noop = ok(apply(s, { type: "Txn", request: txnRequest({ success: [deleteRangeOp(deleteRangeRequest({ key: b("zz") }))] }) }).result, "Txn")
    expect(noop.header.revision).toBe(2)
    expect(ok(get(s, "a"), "Range").header.revision).toBe(2)
  })

  it("duplicate keys: put twice, put inside a delete range, across nested txns; both branches may share", () => {
    const s = newStore()
    const txn = (success: ReturnType<typeof putOp>[]) => apply(s, { type: "Txn", request: txnRequest({ success }) }).result
    const p = (k: string) => putOp(putRequest({ key: b(k) }))
    const d = (k: string, e = "") => deleteRangeOp(deleteRangeRequest({ key: b(k), rangeEnd: b(e) }))
    expect(err(txn([p("a"), p("a")]))).toEqual(KvErrors.duplicateKey)
    expect(err(txn([d("a", "c"), p("b")]))).toEqual(KvErrors.duplicateKey)
    expect(err(txn([p("b"), txnOp(txnRequest({ success: [p("b")] }))]))).toEqual(KvErrors.duplicateKey)
    ok(txn([txnOp(txnRequest({ success: [p("b")], failure: [p("b")] }))]), "Txn")
    ok(txn([d("a", "\0"), p("b")]), "Txn") // etcd's interval check sees "\0" as an empty span
    ok(txn([d("a", "c"), d("b", "d")]), "Txn")
  })

  it("at most 128 ops per list, nested txns share the budget", () => {
    const s = newStore()
    const ops = (n: number) => Array.from({ length: n }, (_, i) => rangeOp(rangeRequest({ key: b(`k${i}`) })))
    ok(apply(s, { type: "Txn", request: txnRequest({ success: ops(128) }) }).result, "Txn")
    expect(err(apply(s, { type: "Txn", request: txnRequest({ success: ops(129) }) }).result)).toEqual(KvErrors.tooManyOps)
    const nested = txnOp(txnRequest({ success: ops(100) }))
    expect(err(apply(s, { type: "Txn", request: txnRequest({ success: [...ops(30), nested] }) }).result))
      .toEqual(KvErrors.tooManyOps)
  })

  it("checks put leases and range revisions of the chosen branch before running anything", () => {
    const s = newStore()
    put(s, "a")
    const bad = apply(s, { type: "Txn", request: txnRequest({ success: [
      putOp(putRequest({ key: b("b") })), rangeOp(rangeRequest({ key: b("a"), revision: 9 })),
    ] }) }).result
    expect(err(bad)).toEqual(KvErrors.futureRevision)
    expect(keysOf(get(s, "b"))).toEqual([])
    const unused = apply(s, { type: "Txn", request: txnRequest({ failure: [putOp(putRequest({ key: b("b"), lease: 5n }))] }) }).result
    expect(ok(unused, "Txn").succeeded).toBe(true)
  })
})

describe("compaction", () => {
  it("refuses revisions at or below the last compaction and beyond the current one", () => {
    const s = newStore()
    put(s, "a")
    put(s, "a")
    const compact = (revision: number) => apply(s, { type: "Compaction", request: { revision, physical: true } }).result
    expect(err(compact(4))).toEqual(KvErrors.futureRevision)
    expect(ok(compact(2), "Compaction").header.revision).toBe(3)
    expect(err(compact(2))).toEqual(KvErrors.compacted)
  })

  it("keeps the newest version of each live key and forgets deleted keys entirely", () => {
    const s = newStore()
    put(s, "a", "1") // 2
    put(s, "b", "1") // 3
    del(s, "b") // 4
    put(s, "a", "2") // 5
    apply(s, { type: "Compaction", request: { revision: 4, physical: false } })
    expect(text(ok(get(s, "a", { revision: 4 }), "Range").kvs[0]!.value)).toBe("1")
    expect(keysOf(get(s, "a", { rangeEnd: b("\0"), revision: 4 }))).toEqual(["a"])
    expect(s.index.get("b")).toBeUndefined()
    expect(Array.from({ length: s.log.length }, (_, position) => s.log.main(position))).toEqual([2, 5])
  })
})

describe("leases", () => {
  it("grant raises the TTL to the minimum, refuses duplicates, too large TTLs and ID 0", () => {
    const s = newStore()
    expect(minLeaseTtlSeconds(10, 100)).toBe(2)
    expect(ok(apply(s, { type: "LeaseGrant", request: { id: 1n, ttl: 1 } }).result, "LeaseGrant")).toMatchObject({ id: 1n, ttl: 2 })
    expect(err(apply(s, { type: "LeaseGrant", request: { id: 1n, ttl: 5 } }).result)).toEqual(KvErrors.leaseExists)
    expect(err(apply(s, { type: "LeaseGrant", request: { id: 2n, ttl: 9_000_000_001 } }).result)).toEqual(KvErrors.leaseTtlTooLarge)
    expect(err(apply(s, { type: "LeaseGrant", request: { id: 0n, ttl: 5 } }).result)).toEqual(KvErrors.leaseNotFound)
    expect(leaseLeases(s).leases).toEqual([{ id: 1n }])
  })

  it("revoke deletes the attached keys in one revision, in key order", () => {
    const s = newStore()
    apply(s, { type: "LeaseGrant", request: { id: 3n, ttl: 10 } })
    put(s, "z", "", { lease: 3n })
    put(s, "m", "", { lease: 3n })
    put(s, "free")
    expect(leaseTimeToLive(s, { id: 3n, keys: true }, () => 7)).toMatchObject({ ttl: 7, grantedTtl: 10, keys: [b("m"), b("z")] })
    const revoked = apply(s, { type: "LeaseRevoke", request: { id: 3n } })
    expect(ok(revoked.result, "LeaseRevoke").header.revision).toBe(5)
    expect(revoked.events.map((e) => [e.type, text(e.kv.key), e.kv.modRevision])).toEqual([[1, "m", 5], [1, "z", 5]])
    expect(keysOf(get(s, "a", { rangeEnd: b("\0") }))).toEqual(["free"])
    expect(err(apply(s, { type: "LeaseRevoke", request: { id: 3n } }).result)).toEqual(KvErrors.leaseNotFound)
    expect(leaseTimeToLive(s, { id: 3n, keys: false })).toMatchObject({ ttl: -1, grantedTtl: 0, header: { revision: 5 } })
  })
})
