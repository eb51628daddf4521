// Alarms belong to the cluster, as in etcd: NOSPACE raised by the member that saw its quota
// exceeded goes through Raft, so every member lists it and refuses writes that add data, a
// restarted member still has it (it is in the replicated state and its snapshots), and
// `alarm disarm` through any member clears it everywhere.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { etcdctl } from "../../support/Etcdctl.ts"
import { startVerikvCluster, type VerikvCluster } from "../../support/VerikvCluster.ts"

const quotaBytes = 64 * 1024
let cluster: VerikvCluster

beforeAll(async () => {
  // A low --snapshot-count, so the restarted member recovers from a snapshot that holds the alarm.
  cluster = await startVerikvCluster({ size: 3, flags: [`--quota-backend-bytes=${quotaBytes}`, "--snapshot-count=20"] })
}, 120_000)
afterAll(async () => {
  await cluster?.stop()
})

/** Polls `check` (bounded): members apply a committed entry each in its own time. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let k = 0; k < 100; k++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`never: ${what}`)
}

describe("alarms in a 3-member cluster", () => {
  it("raises NOSPACE for every member, keeps it across a restart, and clears it everywhere on disarm", async () => {
    const [a, b, c] = cluster.members
    const value = "v".repeat(1000)
    let refused = ""
    for (let i = 0; i < 200 && refused === ""; i++) {
      const result = await etcdctl(a!.clientEndpoint, ["put", `key-${i}`, value])
      if (result.code !== 0) refused = result.stderr
    }
    expect(refused).toContain("etcdserver: mvcc: database space exceeded")
    for (const member of [a!, b!, c!]) {
      await eventually(async () => /alarm:NOSPACE/.test((await etcdctl(member.clientEndpoint, ["alarm", "list"])).stdout), `${member.name} lists NOSPACE`)
    }
    // A member whose own size is under the quota refuses too: the alarm is the cluster's.
    expect((await etcdctl(c!.clientEndpoint, ["put", "through-c", "x"])).stderr).toContain("database space exceeded")
    const status = await etcdctl(b!.clientEndpoint, ["endpoint", "status", "-w", "json"])
    expect(status.stdout).toMatch(/memberID:\d+ alarm:NOSPACE/)

    // Deletes are allowed under NOSPACE: 30 of them carry every member past a snapshot
    // (--snapshot-count=20) taken after the alarm, so the restarted member finds it in its own.
    for (let i = 0; i < 30; i++) expect((await etcdctl(a!.clientEndpoint, ["del", `key-${i}`])).stdout.trim()).toBe("1")
    const revisionOf = async (endpoint: string) =>
      (JSON.parse((await etcdctl(endpoint, ["endpoint", "status", "-w", "json"])).stdout) as Array<{ Status: { header: { revision: number } } }>)[0]!.Status.header.revision
    // A follower is restarted: killing the leader would also test fail-over, which is not the point.
    const leader = await cluster.leader()
    const restarted = [a!, b!, c!].find((m) => m !== leader)!
    const afterDeletes = await revisionOf(a!.clientEndpoint)
    await eventually(async () => (await revisionOf(restarted.clientEndpoint)) === afterDeletes, `${restarted.name} applied the deletes`)
    await restarted.kill()
    await restarted.restart()
    expect((await etcdctl(restarted.clientEndpoint, ["alarm", "list"])).stdout).toMatch(/alarm:NOSPACE/)

    // etcd's way out, through another member: compact, defragment all, disarm.
    expect((await etcdctl(b!.clientEndpoint, ["del", "key-", "--prefix"])).code).toBe(0)
    expect((await etcdctl(b!.clientEndpoint, ["compaction", String(await revisionOf(b!.clientEndpoint))])).code).toBe(0)
    // Defragmentation is each member's own: it must come after the member applied the compaction.
    const appliedIndexOf = async (endpoint: string) =>
      (JSON.parse((await etcdctl(endpoint, ["endpoint", "status", "-w", "json"])).stdout) as Array<{ Status: { raftAppliedIndex: number; raftIndex: number } }>)[0]!.Status
    const compactedAt = (await appliedIndexOf(b!.clientEndpoint)).raftIndex
    for (const member of [a!, b!, c!]) {
      await eventually(async () => (await appliedIndexOf(member.clientEndpoint)).raftAppliedIndex >= compactedAt, `${member.name} applied the compaction`)
    }
    const endpoints = [a!, b!, c!].map((m) => m.clientEndpoint).join(",")
    expect((await etcdctl(endpoints, ["defrag"])).code).toBe(0)
    expect((await etcdctl(b!.clientEndpoint, ["alarm", "disarm"])).code).toBe(0)
    for (const member of [a!, b!, c!]) {
      await eventually(async () => (await etcdctl(member.clientEndpoint, ["alarm", "list"])).stdout.trim() === "", `${member.name} lists no alarm`)
    }
    expect((await etcdctl(a!.clientEndpoint, ["put", "after-disarm", "x"])).stdout.trim()).toBe("OK")
  })
})
