// Lease keep-alive and TimeToLive sent to a follower: it hands them to the leader, which holds
// the lease clocks (etcd does the same), instead of answering "not leader". A keep-alive through
// the follower must renew the lease on the leader: its remaining TTL, read through the other
// follower, goes back up to the granted TTL.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { delay } from "../../support/EtcdProcess.ts"
import { etcdctl } from "../../support/Etcdctl.ts"
import { startVerikvCluster, type VerikvCluster } from "../../support/VerikvCluster.ts"

async function remainingTtl(endpoint: string, leaseId: string): Promise<number> {
  const result = await etcdctl(endpoint, ["lease", "timetolive", leaseId, "-w", "json"])
  expect(result.code, result.stderr).toBe(0)
  return (JSON.parse(result.stdout) as { ttl: number }).ttl
}

describe("leases through followers", () => {
  let cluster: VerikvCluster
  beforeAll(async () => {
    cluster = await startVerikvCluster({ size: 3 })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it("keeps a lease alive and reads its TTL through followers", async () => {
    const leader = await cluster.leader()
    const [followerA, followerB] = cluster.members.filter((m) => m !== leader)
    const granted = await etcdctl(followerA!.clientEndpoint, ["lease", "grant", "30", "-w", "json"])
    expect(granted.code, granted.stderr).toBe(0)
    // etcdctl prints lease IDs as 16 hex digits, leading zeros included.
    const leaseId = BigInt(/"ID":(\d+)/.exec(granted.stdout)![1]!).toString(16).padStart(16, "0")

    await delay(2_500) // let the lease's remaining time drop below its TTL
    const before = await remainingTtl(followerB!.clientEndpoint, leaseId)
    expect(before).toBeGreaterThan(0)
    expect(before).toBeLessThan(30)
    const kept = await etcdctl(followerA!.clientEndpoint, ["lease", "keep-alive", "--once", leaseId])
    expect(kept.code, kept.stderr).toBe(0)
    expect(kept.stdout).toContain(`lease ${leaseId} keepalived with TTL(30)`)
    const after = await remainingTtl(followerB!.clientEndpoint, leaseId)
    expect(after).toBeGreaterThan(before)
    expect(await remainingTtl(leader.clientEndpoint, leaseId)).toBeGreaterThanOrEqual(after - 1)
  })
})
