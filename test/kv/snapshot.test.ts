// A store rebuilt from its snapshot must be indistinguishable from the original: it answers every
// later command and every historical read the same way (including after compactions, which is
// where rebuilding the key index from retained records is subtle).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  apply, newStore, rangeRequest, putRequest, deleteRangeRequest, utf8,
  type KvCommand, type KvStore,
} from "../../src/kv/index.ts"
import { decodeStoreSnapshot, encodeStoreSnapshot } from "../../src/kv/Snapshot.ts"

const keys = ["a", "b", "c", "d"]
const key = fc.constantFrom(...keys).map(utf8)
const leaseId = fc.constantFrom(1n, 2n)

const command: fc.Arbitrary<KvCommand | "snapshot"> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ key, value: fc.string({ maxLength: 3 }), lease: fc.oneof(fc.constant(0n), leaseId) })
    .map(({ key, value, lease }): KvCommand => ({ type: "Put", request: putRequest({ key, value: utf8(value), lease }) })) },
  { weight: 2, arbitrary: fc.tuple(key, fc.boolean()).map(([key, all]): KvCommand => ({
    type: "DeleteRange", request: deleteRangeRequest({ key, rangeEnd: all ? utf8("\0") : new Uint8Array() }) })) },
  { weight: 1, arbitrary: fc.nat({ max: 40 }).map((revision): KvCommand => ({ type: "Compaction", request: { revision, physical: false } })) },
  { weight: 1, arbitrary: leaseId.map((id): KvCommand => ({ type: "LeaseGrant", request: { id, ttl: 10 } })) },
  { weight: 1, arbitrary: leaseId.map((id): KvCommand => ({ type: "LeaseRevoke", request: { id } })) },
  { weight: 1, arbitrary: fc.constant("snapshot" as const) },
)

/** Every key at every revision the store still serves, plus the revision counters. */
function observe(store: KvStore): unknown {
  const views: Array<unknown> = [store.currentRevision, store.compactRevision]
  for (let revision = Math.max(store.compactRevision, 1); revision <= store.currentRevision; revision++) {
    views.push(apply(store, { type: "Range", request: rangeRequest({ key: utf8("\0"), rangeEnd: utf8("\0"), revision }) }).result)
  }
  views.push([...store.leases.values()].map((lease) => [lease.id, lease.ttlSeconds, [...lease.keys].sort()]))
  return views
}

describe("store snapshots", () => {
  it("a restored store answers like the original, before and after further commands", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const original = newStore()
        let restored = newStore()
        for (const c of commands) {
          if (c === "snapshot") {
            restored = decodeStoreSnapshot(encodeStoreSnapshot(original))
            expect(observe(restored)).toEqual(observe(original))
            continue
          }
          expect(apply(restored, c).result).toEqual(apply(original, c).result)
        }
        expect(observe(restored)).toEqual(observe(original))
      }),
      { numRuns: 300 },
    )
  })

  it("refuses bytes that are not a snapshot, or are cut short", () => {
    const store = newStore()
    apply(store, { type: "Put", request: putRequest({ key: utf8("k"), value: utf8("v") }) })
    const bytes = encodeStoreSnapshot(store)
    expect(() => decodeStoreSnapshot(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/)
    expect(() => decodeStoreSnapshot(utf8("garbage!"))).toThrow(/not a verikv store snapshot/)
  })
})
