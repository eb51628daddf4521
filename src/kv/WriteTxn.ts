// A write transaction, after etcd's storeTxnWrite: every change gets the next main revision and
// its own sub-revision; the store's revision advances once, at the end, if anything changed.
import { assert } from "../assert.ts"
import { EventType, NoLease, type Bytes, type Event, type KeyValue, type LeaseId } from "./Api.ts"
import { EMPTY_BYTES } from "./Bytes.ts"
import { liveRecord, NONE, recordAt } from "./KeyIndex.ts"
import { deletedKeyValue, toKeyValue } from "./KeyValues.ts"
import { keyOf, visibleRecords, type KvStore } from "./Store.ts"

export class WriteTxn {
  readonly store: KvStore
  readonly beginRevision: number
  /** The events of this revision, in sub-revision order. */
  readonly events: Event[] = []
  private changes = 0

  constructor(store: KvStore) {
    this.store = store
    this.beginRevision = store.currentRevision
  }

  get changed(): boolean {
    return this.changes > 0
  }

  /** The revision reads inside the txn see: the one being written once something changed. */
  readRevision(): number {
    return this.changes > 0 ? this.beginRevision + 1 : this.beginRevision
  }

  /** Returns the revision of the write. The lease, if any, must exist (callers check first). */
  put(key: string, keyBytes: Bytes, value: Bytes, lease: LeaseId): number {
    const store = this.store
    const log = store.log
    const revision = this.beginRevision + 1
    const position = log.length
    // One descent both finds the key's newest row and points the index at the row being added.
    const latest = store.index.set(key, position) ?? NONE
    const previous = liveRecord(log, latest)
    log.append({
      main: revision,
      sub: this.changes,
      key,
      keyPrev: latest,
      bytesAt: store.bytes.store(keyBytes, value),
      valueLength: value.length,
      createRevision: previous === NONE ? revision : log.createRevision(previous),
      version: previous === NONE ? 1 : log.version(previous) + 1,
      lease,
      tombstone: false,
    })
    this.changes++
    if (previous !== NONE && log.lease(previous) !== NoLease) this.leaseKeys(log.lease(previous)).delete(key)
    if (lease !== NoLease) this.leaseKeys(lease).add(key)
    // A create event carries no prev_kv; otherwise etcd reads it at the revision before this one.
    this.events.push({ type: EventType.PUT, kv: toKeyValue(store, position),
      prevKv: previous === NONE ? undefined : this.before(position) })
    return revision
  }

  /** Deletes the live keys in the span; returns how many and the response's header revision. */
  deleteRange(key: Bytes, rangeEnd: Bytes): { deleted: number; revision: number } {
    const live = visibleRecords(this.store, key, rangeEnd, this.readRevision())
    for (const previous of live) this.delete(previous)
    const changedAnything = live.length !== 0 || this.changes > 0
    return { deleted: live.length, revision: changedAnything ? this.beginRevision + 1 : this.beginRevision }
  }

  private delete(previous: number): void {
    const store = this.store
    const log = store.log
    const key = log.key(previous)
    const revision = this.beginRevision + 1
    const position = log.length
    const latest = store.index.set(key, position)
    assert(latest === previous && !log.isTombstone(previous), "delete of a key that is not live")
    log.append({
      main: revision,
      sub: this.changes,
      key,
      keyPrev: latest,
      bytesAt: store.bytes.store(keyOf(store, previous), EMPTY_BYTES),
      valueLength: 0,
      createRevision: 0,
      version: 0,
      lease: NoLease,
      tombstone: true,
    })
    this.changes++
    if (log.lease(previous) !== NoLease) this.leaseKeys(log.lease(previous)).delete(key)
    this.events.push({ type: EventType.DELETE, kv: deletedKeyValue(keyOf(store, position), revision), prevKv: this.before(position) })
  }

  /**
   * The key as it was before this revision. Usually the row just replaced, but a txn may touch
   * a key twice (a nested put, then a delete with range_end "\0", which etcd's duplicate check lets
   * through), and etcd's watch then still reports the state at the previous revision.
   */
  private before(written: number): KeyValue | undefined {
    const position = recordAt(this.store.log, written, this.beginRevision)
    return position === NONE ? undefined : toKeyValue(this.store, position)
  }

  private leaseKeys(id: LeaseId): Set<string> {
    const lease = this.store.leases.get(id)
    assert(lease !== undefined, "a key refers to a lease that does not exist")
    return lease.keys
  }

  /** Publishes the revision if anything changed (etcd's storeTxnWrite.End). */
  end(): void {
    if (this.changes === 0) return
    this.store.currentRevision = this.beginRevision + 1
    assert(this.store.log.main(this.store.log.length - 1) === this.store.currentRevision,
      "the revision log's last record is not the current revision")
  }
}
