// The MVCC store: the key index (etcd's treeIndex), the revision log (etcd's "key" bucket), the
// current and compacted revisions, and the leases. Plain mutable data: `apply` updates it in place.
// Keys live as strings (Bytes.ts keyString), values in a slab, records as rows of a table: see
// RevisionLog.ts for why.
import { assert } from "../assert.ts"
import type { Bytes, LeaseId } from "./Api.ts"
import type { KvBugName } from "./Bugs.ts"
import { isGteRangeEnd, keyString } from "./Bytes.ts"
import { ByteSlab } from "./ByteSlab.ts"
import { liveRecord, NONE, recordAt } from "./KeyIndex.ts"
import { OrderedKeyMap } from "./OrderedKeyMap.ts"
import { RevisionLog } from "./RevisionLog.ts"

export interface KvConfig {
  /** Grants below this are raised to it (etcd: ceil(floor(3 * electionTicks / 2) * heartbeat)). */
  readonly minLeaseTtlSeconds: number
  /** etcd's --max-txn-ops. */
  readonly maxTxnOps: number
  /** Bug injection for checker tests; empty in production. */
  readonly bugs: ReadonlySet<KvBugName>
}

/** etcd's MinLeaseTTL for a given election timeout in ticks and heartbeat interval. */
export function minLeaseTtlSeconds(electionTicks: number, heartbeatMs: number): number {
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * heartbeatMs) / 1000)
}

/** etcd 3.4's defaults: --heartbeat-interval 100 ms, --election-timeout 1000 ms (10 ticks), --max-txn-ops 128. */
export const defaultKvConfig: KvConfig = {
  minLeaseTtlSeconds: minLeaseTtlSeconds(10, 100),
  maxTxnOps: 128,
  bugs: new Set(),
}

export interface Lease {
  readonly id: LeaseId
  /** Granted TTL in seconds, after raising to the minimum. */
  readonly ttlSeconds: number
  /** The key strings (Bytes.ts) attached now: their live record carries this lease. */
  readonly keys: Set<string>
}

export interface KvStore {
  readonly config: KvConfig
  /** etcd's treeIndex: key string (Bytes.ts) → the position of the key's newest row in `log`. */
  readonly index: OrderedKeyMap<number>
  /** Every stored record in revision order: what etcd's backend holds after compaction. */
  readonly log: RevisionLog
  /** The revision of the last completed write; 1 for a new store. */
  currentRevision: number
  /** The revision of the last compaction; -1 before any. */
  compactRevision: number
  readonly leases: Map<LeaseId, Lease>
  /** Where stored keys and values are copied to; rows hold their locations. */
  readonly bytes: ByteSlab
}

export function newStore(config: Partial<KvConfig> = {}): KvStore {
  const full = { ...defaultKvConfig, ...config }
  assert(Number.isSafeInteger(full.minLeaseTtlSeconds) && full.minLeaseTtlSeconds >= 0, "bad minimum lease TTL")
  assert(Number.isSafeInteger(full.maxTxnOps) && full.maxTxnOps > 0, "bad max txn ops")
  return {
    config: full,
    index: new OrderedKeyMap(),
    log: new RevisionLog(),
    currentRevision: 1,
    compactRevision: -1,
    leases: new Map(),
    bytes: new ByteSlab(),
  }
}

/**
 * The rows visible at `atRevision` for a key (rangeEnd empty), every key >= key (rangeEnd "\0")
 * or [key, rangeEnd), in key order: etcd's treeIndex.Revisions.
 */
export function visibleRecords(store: KvStore, key: Bytes, rangeEnd: Bytes, atRevision: number): number[] {
  const log = store.log
  if (rangeEnd.length === 0) {
    const latest = store.index.get(keyString(key))
    const position = latest === undefined ? NONE : recordAt(log, latest, atRevision)
    return position === NONE ? [] : [position]
  }
  const end = isGteRangeEnd(rangeEnd) ? undefined : keyString(rangeEnd)
  const positions: number[] = []
  store.index.forEachFrom(keyString(key), (indexKey, latest) => {
    if (end !== undefined && indexKey >= end) return false
    const position = recordAt(log, latest, atRevision)
    if (position !== NONE) positions.push(position)
    return true
  })
  return positions
}

/** The live row of a key, NONE while it is deleted or unknown. */
export function liveRecordOf(store: KvStore, key: string): number {
  const latest = store.index.get(key)
  return latest === undefined ? NONE : liveRecord(store.log, latest)
}

/** The stored value of a row, as a view (shares the slab: never written to). */
export function valueOf(store: KvStore, position: number): Bytes {
  const log = store.log
  return store.bytes.view(log.bytesAt(position) + log.key(position).length, log.valueLength(position))
}

/** The key of a row as bytes, a view like valueOf's. */
export function keyOf(store: KvStore, position: number): Bytes {
  const log = store.log
  return store.bytes.view(log.bytesAt(position), log.key(position).length)
}

/** Index of the first row with main >= revision (binary search; the log is sorted). */
export function historyStart(store: KvStore, revision: number): number {
  let low = 0
  let high = store.log.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (store.log.main(middle) < revision) low = middle + 1
    else high = middle
  }
  return low
}

/** One stored record with its key and value as bytes: what etcd's "key" bucket holds per revision. */
export interface StoredRecord {
  readonly main: number
  readonly sub: number
  readonly key: Bytes
  /** Empty for tombstones. */
  readonly value: Bytes
  /** 0 for tombstones. */
  readonly createRevision: number
  /** 0 for tombstones. */
  readonly version: number
  readonly lease: LeaseId
  readonly tombstone: boolean
}

/** A row as a StoredRecord (for hashing and snapshots: the hot paths read the columns directly). */
export function storedRecord(store: KvStore, position: number): StoredRecord {
  const log = store.log
  return {
    main: log.main(position),
    sub: log.sub(position),
    key: keyOf(store, position),
    value: valueOf(store, position),
    createRevision: log.createRevision(position),
    version: log.version(position),
    lease: log.lease(position),
    tombstone: log.isTombstone(position),
  }
}
