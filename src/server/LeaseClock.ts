// When each lease expires, as the leader sees it (etcd's lessor expiry heap, minus the replicated
// part, which lives in the KV core). Not replicated: only the leader's clock decides expiry, and
// it acts by proposing a revoke. Time is passed in, so the rules are testable without a clock.
import type { LeaseId } from "../kv/Api.ts"

export class LeaseClock {
  /** Expiry instant in ms, per lease known to the store. */
  private readonly expiryMs = new Map<LeaseId, number>()
  /** Leases whose revoke was proposed and not yet applied: not proposed twice. */
  private readonly revoking = new Set<LeaseId>()

  /** A grant was applied: the lease lives `ttlSeconds` from now. */
  granted(id: LeaseId, ttlSeconds: number, nowMs: number): void {
    this.expiryMs.set(id, nowMs + ttlSeconds * 1000)
  }

  /** A revoke was applied (by a client or by expiry). */
  revoked(id: LeaseId): void {
    this.expiryMs.delete(id)
    this.revoking.delete(id)
  }

  /** A keep-alive on the leader: the lease lives another `ttlSeconds`. False if unknown. */
  renew(id: LeaseId, ttlSeconds: number, nowMs: number): boolean {
    if (!this.expiryMs.has(id) || this.revoking.has(id)) return false
    this.expiryMs.set(id, nowMs + ttlSeconds * 1000)
    return true
  }

  /**
   * This node became leader: like etcd's Promote, every lease of the store gets its full TTL again
   * plus `extendMs` (the election timeout), since the old leader's renewals are unknown here.
   */
  promote(leases: Iterable<{ readonly id: LeaseId; readonly ttlSeconds: number }>, nowMs: number, extendMs: number): void {
    this.expiryMs.clear()
    this.revoking.clear()
    for (const lease of leases) this.expiryMs.set(lease.id, nowMs + lease.ttlSeconds * 1000 + extendMs)
  }

  /** Whole seconds left (etcd truncates), or -1 if unknown. */
  remainingSeconds(id: LeaseId, nowMs: number): number {
    const expiry = this.expiryMs.get(id)
    if (expiry === undefined) return -1
    return Math.max(0, Math.floor((expiry - nowMs) / 1000))
  }

  /** Expired leases whose revoke should be proposed now (each at most once until it applies). */
  takeExpired(nowMs: number, limit: number): LeaseId[] {
    const expired: LeaseId[] = []
    for (const [id, expiry] of this.expiryMs) {
      if (expired.length >= limit) break
      if (expiry <= nowMs && !this.revoking.has(id)) {
        this.revoking.add(id)
        expired.push(id)
      }
    }
    return expired
  }

  /** A proposed revoke failed (e.g. leadership lost): the lease may be proposed again. */
  revokeFailed(id: LeaseId): void {
    this.revoking.delete(id)
  }

  /** Lease IDs by expiry, soonest first (etcd's Leases order). */
  byExpiry(): LeaseId[] {
    return [...this.expiryMs].sort((a, b) => a[1] - b[1]).map(([id]) => id)
  }
}
