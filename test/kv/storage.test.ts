// The store's compact layout at a scale the short property runs never reach: thousands of
// revisions (the revision log's columns grow and shrink), keys of every length (the key strings),
// values from empty to several chunks' worth of small ones and some over the packing limit (the
// slab), with compactions that drop rows, renumber them and pack sparse chunks. Answers must match
// the reference model throughout, and the slab must give memory back.
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import {
  apply, newStore, putRequest, rangeRequest, deleteRangeRequest, type KvCommand, type KvStore,
} from "../../src/kv/index.ts"
import { compareBytes, keyBytes, keyString } from "../../src/kv/Bytes.ts"
import { decodeStoreSnapshot, encodeStoreSnapshot } from "../../src/kv/Snapshot.ts"
import { ReferenceModel } from "./ReferenceModel.ts"

/** mulberry32: a small seeded generator, so a failure names its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const plain = (x: unknown): string => JSON.stringify(x, (_k, v) =>
  v instanceof Uint8Array ? Buffer.from(v).toString("base64") : typeof v === "bigint" ? `${v}n` : v)

/** Random commands over 300 keys, each drawn knowing the current and compacted revisions. */
function workload(seed: number): (current: number, compacted: number) => KvCommand {
  const next = random(seed)
  const pick = (n: number) => Math.floor(next() * n)
  // Short keys, keys around the 12-byte string threshold, a few very long ones; bytes 0-255.
  const keys = Array.from({ length: 300 }, (_, i) => {
    const length = i % 50 === 0 ? 9000 + i : 1 + pick(i % 3 === 0 ? 40 : 14)
    return Uint8Array.from({ length }, (_, j) => (j === 0 ? 1 + (i % 250) : pick(256)))
  })
  const value = () => {
    const roll = next()
    const length = roll < 0.1 ? 0 : roll < 0.97 ? pick(1200) : 4000 + pick(3000)
    return Uint8Array.from({ length }, () => pick(256))
  }
  return (current, compacted) => {
    const roll = next()
    const floor = Math.max(compacted, 1)
    if (roll < 0.75) return { type: "Put", request: putRequest({ key: keys[pick(keys.length)]!, value: value(), prevKv: next() < 0.2 }) }
    if (roll < 0.9) {
      const key = keys[pick(keys.length)]!
      const rangeEnd = next() < 0.5 ? new Uint8Array(0) : Uint8Array.of(key[0]! + 1)
      return { type: "DeleteRange", request: deleteRangeRequest({ key, rangeEnd, prevKv: true }) }
    }
    if (roll < 0.99) {
      return { type: "Range", request: rangeRequest({ key: keys[pick(keys.length)]!, rangeEnd: Uint8Array.of(0),
        revision: floor + pick(current - floor + 1), limit: pick(20) }) }
    }
    // At most halfway to the current revision, so the log keeps a long tail between compactions.
    return { type: "Compaction", request: { revision: floor + 1 + pick(Math.max(1, (current - floor) / 2)), physical: true } }
  }
}

/** The whole keyspace at a few revisions the store still serves, as the model sees it. */
function firstDifference(store: KvStore, model: ReferenceModel, probes: number[]): string | undefined {
  for (const revision of probes) {
    const probe: KvCommand = { type: "Range", request: rangeRequest({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), revision }) }
    const got = plain(apply(store, probe).result)
    const want = plain(model.apply(probe).result)
    if (got !== want) return `whole keyspace at revision ${revision} differs`
  }
  return undefined
}

function probesOf(model: ReferenceModel, next: () => number): number[] {
  const low = Math.max(model.compacted, 1)
  const span = model.current - low
  return [low, model.current, ...Array.from({ length: 4 }, () => low + Math.floor(next() * (span + 1)))]
}

describe("the compact store layout at scale", () => {
  it("answers like the reference model over thousands of revisions with compactions", () => {
    const seed = 20260
    const steps = 3000
    const command = workload(seed)
    const store = newStore()
    const model = new ReferenceModel()
    const next = random(seed + 1)
    let compactions = 0
    let packed = 0
    let longestLog = 0
    for (let i = 0; i < steps; i++) {
      const c = command(model.current, model.compacted)
      const chunksBefore = store.bytes.chunkCount
      const result = apply(store, c)
      longestLog = Math.max(longestLog, store.log.length)
      expect(plain(result), `seed ${seed} step ${i} (${c.type})`).toBe(plain(model.apply(c)))
      if (c.type === "Compaction" && result.result.type === "Compaction") {
        compactions++
        if (store.bytes.chunkCount < chunksBefore) packed++
        const difference = firstDifference(store, model, probesOf(model, next))
        expect(difference, `seed ${seed} after step ${i}`).toBeUndefined()
      }
    }
    expect(firstDifference(store, model, probesOf(model, next))).toBeUndefined()
    expect(compactions).toBeGreaterThan(20)
    expect(packed).toBeGreaterThan(10) // compactions that freed chunks
    expect(longestLog).toBeGreaterThan(1024) // the columns grew past their first capacity
    const restored = decodeStoreSnapshot(encodeStoreSnapshot(store))
    expect(firstDifference(restored, model, probesOf(model, next))).toBeUndefined()
  })

  it("catches a stored byte that went astray (the check has teeth)", () => {
    const command = workload(7)
    const store = newStore()
    const model = new ReferenceModel()
    for (let i = 0; i < 400; i++) {
      const c = command(model.current, model.compacted)
      apply(store, c)
      model.apply(c)
    }
    expect(firstDifference(store, model, [model.current])).toBeUndefined()
    // Point the newest row at the bytes of the row before it: one wrong location.
    const last = store.log.length - 1
    store.log.moveBytes(last, store.log.bytesAt(last - 1))
    expect(firstDifference(store, model, [model.current])).toMatch(/differs/)
  })

  it("gives slab chunks back once compaction leaves them empty or nearly so", () => {
    const store = newStore()
    const value = new Uint8Array(1000).fill(7)
    const key = (i: number) => Uint8Array.of(0x6b, i >> 8, i & 0xff)
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 2000; i++) apply(store, { type: "Put", request: putRequest({ key: key(i), value }) })
    }
    const before = store.bytes.chunkCount // 8,000 rows of ~1 KB: about 31 chunks
    apply(store, { type: "Compaction", request: { revision: store.currentRevision, physical: true } })
    // 2,000 rows of ~1 KB left: at most 8 chunks, plus the one being filled and one partly packed.
    expect(before).toBeGreaterThan(25)
    expect(store.bytes.chunkCount).toBeLessThanOrEqual(10)
    // Deleting one key in ten leaves every chunk sparse-free but still correct after packing.
    for (let i = 0; i < 2000; i += 10) apply(store, { type: "DeleteRange", request: deleteRangeRequest({ key: key(i) }) })
    apply(store, { type: "Compaction", request: { revision: store.currentRevision, physical: true } })
    const read = apply(store, { type: "Range", request: rangeRequest({ key: key(0), rangeEnd: Uint8Array.of(0) }) }).result
    expect(read.type === "Range" && read.response.count).toBe(1800)
    expect(read.type === "Range" && read.response.kvs.every((kv) => kv.value.length === 1000 && kv.value[999] === 7)).toBe(true)
  })

  it("keeps answers already given intact when compaction moves the bytes they came from", () => {
    const store = newStore()
    const key = (i: number) => Uint8Array.of(0x6b, i >> 8, i & 0xff)
    for (let i = 0; i < 600; i++) apply(store, { type: "Put", request: putRequest({ key: key(i), value: new Uint8Array(1000).fill(i & 0xff) }) })
    const answer = apply(store, { type: "Range", request: rangeRequest({ key: key(5) }) }).result
    for (let i = 0; i < 600; i++) if (i !== 5) apply(store, { type: "DeleteRange", request: deleteRangeRequest({ key: key(i) }) })
    apply(store, { type: "Compaction", request: { revision: store.currentRevision, physical: true } })
    for (let i = 0; i < 600; i++) apply(store, { type: "Put", request: putRequest({ key: key(i + 1000), value: new Uint8Array(1000).fill(9) }) })
    expect(answer.type === "Range" && [...answer.response.kvs[0]!.value].every((byte) => byte === 5)).toBe(true)
  })
})

describe("key strings", () => {
  it("round-trip any bytes and order exactly as bytes.Compare does", () => {
    const bytes = fc.uint8Array({ maxLength: 40 })
    fc.assert(fc.property(bytes, bytes, (a, b) => {
      expect(keyBytes(keyString(a))).toEqual(a)
      const order = keyString(a) < keyString(b) ? -1 : keyString(a) > keyString(b) ? 1 : 0
      expect(order).toBe(compareBytes(a, b))
    }), { numRuns: 2000 })
    const long = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) & 0xff)
    expect(keyBytes(keyString(long))).toEqual(long)
  })
})
