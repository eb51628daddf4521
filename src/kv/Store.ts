// The MVCC store: the key index (etcd's treeIndex), the revision log (etcd's "key" bucket), the
// current and compacted revisions, and the leases. Plain mutable data: `apply` updates it in place.
import { assert } from "../assert.ts"
import type { Bytes, LeaseId } from "./Api.ts"
import type { KvBugName } from "./Bugs.ts"
import { compareBytes, isGteRangeEnd } from "./Bytes.ts"
import { ByteSlab } from "./ByteSlab.ts"
import { KeyIndex, type RevisionRecord } from "./KeyIndex.ts"
import { OrderedKeyMap } from "./OrderedKeyMap.ts"

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
  /** The keys attached now (their live record carries this lease). */
  readonly keys: Set<KeyIndex>
}

export interface KvStore {
  readonly config: KvConfig
  readonly index: OrderedKeyMap<KeyIndex>
  /** Every stored record in revision order: what etcd's backend holds after compaction. */
  history: RevisionRecord[]
  /** The revision of the last completed write; 1 for a new store. */
  currentRevision: number
  /** The revision of the last compaction; -1 before any. */
  compactRevision: number
  readonly leases: Map<LeaseId, Lease>
  /** Where stored keys and values are copied to. */
  readonly bytes: ByteSlab
}

export function newStore(config: Partial<KvConfig> = {}): KvStore {
  const full = { ...defaultKvConfig, ...config }
  assert(Number.isSafeInteger(full.minLeaseTtlSeconds) && full.minLeaseTtlSeconds >= 0, "bad minimum lease TTL")
  assert(Number.isSafeInteger(full.maxTxnOps) && full.maxTxnOps > 0, "bad max txn ops")
  return {
    config: full,
    index: new OrderedKeyMap(),
    history: [],
    currentRevision: 1,
    compactRevision: -1,
    leases: new Map(),
    bytes: new ByteSlab(),
  }
}

/**
 * The records visible at `atRevision` for a key (rangeEnd empty), every key >= key (rangeEnd "\0")
 * or [key, rangeEnd), in key order: etcd's treeIndex.Revisions.
 */
export function visibleRecords(store: KvStore, key: Bytes, rangeEnd: Bytes, atRevision: number): RevisionRecord[] {
  if (rangeEnd.length === 0) {
    const record = store.index.get(key)?.get(atRevision)
    return record === undefined ? [] : [record]
  }
  const unbounded = isGteRangeEnd(rangeEnd)
  const records: RevisionRecord[] = []
  store.index.forEachFrom(key, (indexKey, keyIndex) => {
    if (!unbounded && compareBytes(indexKey, rangeEnd) >= 0) return false
    const record = keyIndex.get(atRevision)
    if (record !== undefined) records.push(record)
    return true
  })
  return records
}

/** Index of the first history record with main >= revision (binary search; history is sorted). */
export function historyStart(store: KvStore, revision: number): number {
  let low = 0
  let high = store.history.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (store.history[middle]!.main < revision) low = middle + 1
    else high = middle
  }
  return low
}
