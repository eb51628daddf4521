// The store as bytes, for Raft snapshots: the retained revision records, the revisions, and the
// leases. The key index is not written: like etcd's restore from its backend, it is rebuilt by
// replaying the records in revision order, which is what makes the two provably consistent.
import { assert } from "../assert.ts"
import { NoLease, type LeaseId } from "./Api.ts"
import { keyString } from "./Bytes.ts"
import { liveRecord, NONE } from "./KeyIndex.ts"
import { newStore, storedRecord, type KvConfig, type KvStore, type StoredRecord } from "./Store.ts"

const MAGIC = 0x766b7331 // "vks1"
const FLAG_TOMBSTONE = 1

class Writer {
  private buffer = new Uint8Array(1 << 16)
  private view = new DataView(this.buffer.buffer)
  private pos = 0

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buffer.length) return
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.pos + extra))
    grown.set(this.buffer.subarray(0, this.pos))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }
  u8(value: number): void {
    this.ensure(1)
    this.view.setUint8(this.pos, value)
    this.pos += 1
  }
  u32(value: number): void {
    this.ensure(4)
    this.view.setUint32(this.pos, value)
    this.pos += 4
  }
  /** Revisions and counts: safe integers, written as 64-bit. */
  u64(value: number): void {
    this.ensure(8)
    this.view.setBigUint64(this.pos, BigInt(value))
    this.pos += 8
  }
  i64(value: bigint): void {
    this.ensure(8)
    this.view.setBigInt64(this.pos, value)
    this.pos += 8
  }
  bytes(value: Uint8Array): void {
    this.u32(value.length)
    this.ensure(value.length)
    this.buffer.set(value, this.pos)
    this.pos += value.length
  }
  finish(): Uint8Array {
    return this.buffer.slice(0, this.pos)
  }
}

class Reader {
  private readonly view: DataView
  private pos = 0
  private readonly bytes: Uint8Array
  constructor(bytes: Uint8Array) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  }
  private need(count: number): void {
    if (this.pos + count > this.bytes.length) throw new Error("kv snapshot: truncated")
  }
  u8(): number {
    this.need(1)
    return this.view.getUint8(this.pos++)
  }
  u32(): number {
    this.need(4)
    const value = this.view.getUint32(this.pos)
    this.pos += 4
    return value
  }
  u64(): number {
    this.need(8)
    const value = Number(this.view.getBigUint64(this.pos))
    this.pos += 8
    return value
  }
  i64(): bigint {
    this.need(8)
    const value = this.view.getBigInt64(this.pos)
    this.pos += 8
    return value
  }
  bytesField(): Uint8Array {
    const length = this.u32()
    this.need(length)
    const value = this.bytes.subarray(this.pos, this.pos + length) // the store copies what it keeps
    this.pos += length
    return value
  }
  get done(): boolean {
    return this.pos === this.bytes.length
  }
}

export function encodeStoreSnapshot(store: KvStore): Uint8Array {
  const w = new Writer()
  w.u32(MAGIC)
  w.u64(store.currentRevision)
  w.i64(BigInt(store.compactRevision))
  w.u32(store.leases.size)
  for (const lease of store.leases.values()) {
    w.i64(lease.id)
    w.u64(lease.ttlSeconds)
  }
  w.u64(store.log.length)
  for (let position = 0; position < store.log.length; position++) {
    const record = storedRecord(store, position)
    w.u64(record.main)
    w.u64(record.sub)
    w.u8(record.tombstone ? FLAG_TOMBSTONE : 0)
    w.bytes(record.key)
    w.bytes(record.value)
    w.u64(record.createRevision)
    w.u64(record.version)
    w.i64(record.lease)
  }
  return w.finish()
}

export function decodeStoreSnapshot(bytes: Uint8Array, config: Partial<KvConfig> = {}): KvStore {
  const r = new Reader(bytes)
  if (r.u32() !== MAGIC) throw new Error("kv snapshot: not a verikv store snapshot")
  const store = newStore(config)
  store.currentRevision = r.u64()
  store.compactRevision = Number(r.i64())
  const leaseCount = r.u32()
  for (let i = 0; i < leaseCount; i++) {
    const id: LeaseId = r.i64()
    store.leases.set(id, { id, ttlSeconds: r.u64(), keys: new Set() })
  }
  const recordCount = r.u64()
  for (let i = 0; i < recordCount; i++) {
    const main = r.u64()
    const sub = r.u64()
    const tombstone = (r.u8() & FLAG_TOMBSTONE) !== 0
    const key = r.bytesField()
    const value = r.bytesField()
    restoreRecord(store, { main, sub, tombstone, key, value, createRevision: r.u64(), version: r.u64(), lease: r.i64() })
  }
  if (!r.done) throw new Error("kv snapshot: trailing bytes")
  store.index.forEach((key, latest) => {
    const live = liveRecord(store.log, latest)
    if (live === NONE || store.log.lease(live) === NoLease) return true
    const lease = store.leases.get(store.log.lease(live))
    assert(lease !== undefined, "kv snapshot: a key is attached to an unknown lease")
    lease.keys.add(key)
    return true
  })
  return store
}

/**
 * Replays one record into the index, as etcd's restore does from its backend. A key's rows form
 * its chain whatever compaction left of them (a lone tombstone is a generation of its own).
 */
function restoreRecord(store: KvStore, record: StoredRecord): void {
  const log = store.log
  const key = keyString(record.key)
  const position = log.length
  const latest = store.index.set(key, position) ?? NONE
  assert(latest === NONE || log.isTombstone(latest) || record.tombstone ||
    record.version === log.version(latest) + 1, "kv snapshot: a put's version does not follow its key's last")
  log.append({
    main: record.main,
    sub: record.sub,
    key,
    keyPrev: latest,
    bytesAt: store.bytes.store(record.key, record.value),
    valueLength: record.value.length,
    createRevision: record.createRevision,
    version: record.version,
    lease: record.lease,
    tombstone: record.tombstone,
  })
}
