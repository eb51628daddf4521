// The leader's lease clock, with time passed in: expiry, keep-alive, revokes proposed once, and a
// new leader's promotion, which (as etcd's) grants every lease its full TTL plus the election
// timeout again, since the old leader's renewals are unknown to it.
import { describe, expect, it } from "vitest"
import { LeaseClock } from "../../src/server/LeaseClock.ts"

describe("LeaseClock", () => {
  it("expires a lease after its TTL unless kept alive, and proposes each revoke once", () => {
    const clock = new LeaseClock()
    clock.granted(1n, 10, 0)
    clock.granted(2n, 5, 0)
    expect(clock.remainingSeconds(1n, 2500)).toBe(7) // truncated, as etcd reports
    expect(clock.takeExpired(4999, 10)).toEqual([])
    expect(clock.renew(2n, 5, 4000)).toBe(true) // now lives until 9000
    expect(clock.takeExpired(8999, 10)).toEqual([])
    expect(clock.takeExpired(10_000, 10)).toEqual([1n, 2n])
    expect(clock.takeExpired(11_000, 10)).toEqual([]) // already being revoked
    expect(clock.renew(1n, 10, 11_000)).toBe(false) // too late: its revoke is under way
    clock.revokeFailed(2n)
    expect(clock.takeExpired(11_000, 10)).toEqual([2n])
    clock.revoked(1n)
    expect(clock.remainingSeconds(1n, 11_000)).toBe(-1)
  })

  it("a new leader gives every lease its TTL plus the election timeout, from the time it leads", () => {
    const clock = new LeaseClock()
    clock.granted(7n, 60, 0) // the old leader granted it at 0 and renewed it later, unseen here
    clock.promote([{ id: 7n, ttlSeconds: 60 }, { id: 8n, ttlSeconds: 10 }], 100_000, 1000)
    expect(clock.remainingSeconds(7n, 100_000)).toBe(61)
    expect(clock.remainingSeconds(8n, 100_000)).toBe(11) // known to the store, now tracked here too
    expect(clock.takeExpired(110_999, 10)).toEqual([])
    expect(clock.takeExpired(111_000, 10)).toEqual([8n])
    expect(clock.byExpiry()).toEqual([8n, 7n])
  })
})
