// Leases as replicated state, after etcd 3.4's lease/lessor.go: grant, revoke (deleting the
// attached keys in one revision), TimeToLive and the Leases list. Expiry is not decided here:
// the leader's LeaseClock (LeaseClock.ts) decides it and proposes a revoke.
import { assert } from "../assert.ts"
import { NoLease, type LeaseGrantRequest, type LeaseGrantResponse, type LeaseLeasesResponse,
  type LeaseRevokeRequest, type LeaseRevokeResponse, type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse, type LeaseId } from "./Api.ts"
import { EMPTY_BYTES, keyBytes } from "./Bytes.ts"
import { fail, KvErrors } from "./Errors.ts"
import type { KvStore } from "./Store.ts"
import { WriteTxn } from "./WriteTxn.ts"

/** etcd's MaxLeaseTTL in seconds. */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000

/**
 * A grant carries its ID: for ID 0 the proposing leader picks one before replicating, as etcd's
 * server does. If a 0 still arrives, the core answers as etcd's lessor would ("lease not found").
 */
export function applyLeaseGrant(store: KvStore, request: LeaseGrantRequest): LeaseGrantResponse {
  if (request.id === NoLease) fail(KvErrors.leaseNotFound)
  if (request.ttl > LEASE_TTL_SECONDS_MAX) fail(KvErrors.leaseTtlTooLarge)
  if (store.leases.has(request.id)) fail(KvErrors.leaseExists)
  const ttlSeconds = Math.max(request.ttl, store.config.minLeaseTtlSeconds)
  store.leases.set(request.id, { id: request.id, ttlSeconds, keys: new Set() })
  return { header: { revision: store.currentRevision }, id: request.id, ttl: ttlSeconds }
}

export function applyLeaseRevoke(store: KvStore, request: LeaseRevokeRequest): { response: LeaseRevokeResponse; txn: WriteTxn } {
  const lease = store.leases.get(request.id)
  if (lease === undefined) fail(KvErrors.leaseNotFound)
  // Key strings sort bytewise (Bytes.ts keyString).
  const keys = [...lease.keys].sort()
  const txn = new WriteTxn(store)
  for (const key of keys) txn.deleteRange(keyBytes(key), EMPTY_BYTES)
  assert(lease.keys.size === 0, "a revoked lease still has keys")
  store.leases.delete(request.id)
  txn.end()
  return { response: { header: { revision: store.currentRevision } }, txn }
}

/**
 * TimeToLive without the clock: `remainingSeconds` comes from the leader's LeaseClock. An unknown
 * lease is not an error: etcd answers TTL -1 with the current revision.
 */
export function leaseTimeToLive(
  store: KvStore,
  request: LeaseTimeToLiveRequest,
  remainingSeconds: (id: LeaseId) => number = () => -1,
): LeaseTimeToLiveResponse {
  const header = { revision: store.currentRevision }
  const lease = store.leases.get(request.id)
  if (lease === undefined) return { header, id: request.id, ttl: -1, grantedTtl: 0, keys: [] }
  const keys = request.keys ? [...lease.keys].sort().map(keyBytes) : []
  return { header, id: request.id, ttl: remainingSeconds(request.id), grantedTtl: lease.ttlSeconds, keys }
}

/** The leases by ID (etcd orders them by remaining time; LeaseClock.byExpiry gives that order). */
export function leaseLeases(store: KvStore): LeaseLeasesResponse {
  const ids = [...store.leases.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return { header: { revision: store.currentRevision }, leases: ids.map((id) => ({ id })) }
}
