// A write transaction, after etcd's storeTxnWrite: every change gets the next main revision and
// its own sub-revision; the store's revision advances once, at the end, if anything changed.
import { assert } from "../assert.ts"
import { EventType, NoLease, type Bytes, type Event, type KeyValue, type LeaseId } from "./Api.ts"
import { EMPTY_BYTES } from "./Bytes.ts"
import { KeyIndex, type RevisionRecord } from "./KeyIndex.ts"
import { deletedKeyValue, toKeyValue } from "./KeyValues.ts"
import { visibleRecords, type KvStore } from "./Store.ts"

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
  put(key: Bytes, value: Bytes, lease: LeaseId): number {
    const store = this.store
    const revision = this.beginRevision + 1
    let keyIndex = store.index.get(key)
    if (keyIndex === undefined) {
      keyIndex = new KeyIndex(store.bytes.copy(key))
      store.index.set(keyIndex.key, keyIndex)
    }
    const previous = keyIndex.live()
    const record: RevisionRecord = {
      main: revision,
      sub: this.changes,
      key: keyIndex.key,
      value: store.bytes.copy(value),
      createRevision: previous === undefined ? revision : previous.createRevision,
      version: previous === undefined ? 1 : previous.version + 1,
      lease,
      tombstone: false,
    }
    keyIndex.put(record)
    this.record(record)
    if (previous !== undefined && previous.lease !== NoLease) this.leaseKeys(previous.lease).delete(keyIndex)
    if (lease !== NoLease) this.leaseKeys(lease).add(keyIndex)
    // A create event carries no prev_kv; otherwise etcd reads it at the revision before this one.
    this.events.push({ type: EventType.PUT, kv: toKeyValue(record), prevKv: record.version === 1 ? undefined : this.before(keyIndex) })
    return revision
  }

  /** Deletes the live keys in the span; returns how many and the response's header revision. */
  deleteRange(key: Bytes, rangeEnd: Bytes): { deleted: number; revision: number } {
    const live = visibleRecords(this.store, key, rangeEnd, this.readRevision())
    for (const previous of live) this.delete(previous)
    const changedAnything = live.length !== 0 || this.changes > 0
    return { deleted: live.length, revision: changedAnything ? this.beginRevision + 1 : this.beginRevision }
  }

  private delete(previous: RevisionRecord): void {
    const keyIndex = this.store.index.get(previous.key)
    assert(keyIndex !== undefined && keyIndex.live() === previous, "delete of a key that is not live")
    const revision = this.beginRevision + 1
    const record: RevisionRecord = {
      main: revision,
      sub: this.changes,
      key: keyIndex.key,
      value: EMPTY_BYTES,
      createRevision: 0,
      version: 0,
      lease: NoLease,
      tombstone: true,
    }
    keyIndex.tombstone(record)
    this.record(record)
    if (previous.lease !== NoLease) this.leaseKeys(previous.lease).delete(keyIndex)
    this.events.push({ type: EventType.DELETE, kv: deletedKeyValue(keyIndex.key, revision), prevKv: this.before(keyIndex) })
  }

  /**
   * The key as it was before this revision. Usually the record just replaced, but a txn may touch
   * a key twice (a nested put, then a delete with range_end "\0", which etcd's duplicate check lets
   * through), and etcd's watch then still reports the state at the previous revision.
   */
  private before(keyIndex: KeyIndex): KeyValue | undefined {
    const record = keyIndex.get(this.beginRevision)
    return record === undefined ? undefined : toKeyValue(record)
  }

  private record(record: RevisionRecord): void {
    this.store.history.push(record)
    this.changes++
  }

  private leaseKeys(id: LeaseId): Set<KeyIndex> {
    const lease = this.store.leases.get(id)
    assert(lease !== undefined, "a key refers to a lease that does not exist")
    return lease.keys
  }

  /** Publishes the revision if anything changed (etcd's storeTxnWrite.End). */
  end(): void {
    if (this.changes === 0) return
    this.store.currentRevision = this.beginRevision + 1
    assert(this.store.history[this.store.history.length - 1]!.main === this.store.currentRevision,
      "the revision log's last record is not the current revision")
  }
}
