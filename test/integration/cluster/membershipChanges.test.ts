// Membership changes between real processes under a concurrent write load: a learner is added and
// started, promoted once in sync, a follower is removed, then the leader is removed through a
// follower (the rest elect a new one). Removed processes stop with etcd's message, and a removed
// member that is started again is refused. Afterwards every acknowledged write is on every remaining member, and
// member list, endpoint status and endpoint health --cluster tell the truth on each of them.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { delay } from "../../support/EtcdProcess.ts"
import { etcdctl } from "../../support/Etcdctl.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../../support/VerikvCluster.ts"
import { lostWrites, readLoadKeys, startWriteLoad } from "../../support/WriteLoad.ts"

const removedMessage = "the member has been permanently removed from the cluster"

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms`)
    await delay(50)
  }
}

interface ListedMember {
  readonly ID: string
  readonly name: string
  readonly peerURLs: string[]
  readonly clientURLs: string[]
  readonly isLearner?: boolean
}

/** member list -w json, with IDs as exact hex (etcdctl prints them as JSON numbers beyond 2^53). */
async function memberList(endpoint: string): Promise<ListedMember[]> {
  const result = await etcdctl(endpoint, ["member", "list", "-w", "json"])
  expect(result.code, result.stderr).toBe(0)
  const exact = result.stdout.replace(/"(ID|member_id|cluster_id)":(\d+)/g, '"$1":"$2"')
  const parsed = JSON.parse(exact) as { members: Array<ListedMember & { ID: string }> }
  return parsed.members.map((m) => ({ ...m, ID: BigInt(m.ID).toString(16) }))
}

async function memberIdOf(endpoint: string, member: ClusterMember): Promise<string> {
  const found = (await memberList(endpoint)).find((m) => m.peerURLs.includes(member.peerUrl))
  if (found === undefined) throw new Error(`${member.name} is not in the member list`)
  return found.ID
}

describe("membership changes under load", () => {
  let cluster: VerikvCluster
  beforeAll(async () => {
    cluster = await startVerikvCluster({ size: 3 })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it("adds a learner, promotes it, removes a follower and the leader; no acknowledged write is lost", async () => {
    const inRotation = new Set(cluster.members)
    const load = startWriteLoad(() => [...inRotation].filter((m) => m.running()).map((m) => m.clientEndpoint))
    const progress = async (what: string, more: number) => {
      const target = load.acknowledged.size + more
      await waitFor(what, () => load.acknowledged.size >= target, 60_000)
    }
    await progress("writes before the changes", 200)

    // A learner joins and catches up; promotion waits until it is in sync.
    const n4 = await cluster.prepareMember("n4")
    const first = (await cluster.leader()).clientEndpoint
    const added = await etcdctl(first, ["member", "add", "n4", "--learner", `--peer-urls=${n4.peerUrl}`])
    expect(added.code, added.stderr).toBe(0)
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added.stdout)![1]!
    await n4.start({ initialClusterState: "existing", initialCluster })
    const n4Id = await memberIdOf(first, n4)
    expect((await memberList(first)).find((m) => m.ID === n4Id)?.isLearner).toBe(true)
    inRotation.add(n4)
    await progress("writes with a learner", 200)
    let promoted = await etcdctl(n4.clientEndpoint, ["member", "promote", n4Id])
    for (let attempt = 0; promoted.code !== 0 && attempt < 100; attempt++) {
      expect(promoted.stderr).toContain("can only promote a learner member which is in sync with leader")
      await delay(200)
      promoted = await etcdctl(n4.clientEndpoint, ["member", "promote", n4Id])
    }
    expect(promoted.code, promoted.stderr).toBe(0)
    await progress("writes after the promotion", 200)

    // A follower is removed (through another follower); its process stops.
    const leader = await cluster.leader()
    const follower = cluster.members.find((m) => m !== leader && m !== n4 && m.running())!
    const asker = cluster.members.find((m) => m !== leader && m !== follower && m.running())!
    inRotation.delete(follower)
    const removedFollower = await etcdctl(asker.clientEndpoint, ["member", "remove", await memberIdOf(asker.clientEndpoint, follower)])
    expect(removedFollower.code, removedFollower.stderr).toBe(0)
    expect(await follower.waitForExit(30_000), follower.logTail()).toBeDefined()
    expect(follower.log()).toContain(removedMessage)
    await progress("writes after removing a follower", 200)

    // The leader is removed, asked through a follower (the relayed answer can be lost when the
    // removed leader stops: the follower answers from its own state); the remaining two elect a
    // new leader and go on.
    inRotation.delete(leader)
    const removedLeader = await etcdctl(asker.clientEndpoint, ["member", "remove", await memberIdOf(asker.clientEndpoint, leader)])
    expect(removedLeader.code, removedLeader.stderr).toBe(0)
    expect(await leader.waitForExit(30_000), leader.logTail()).toBeDefined()
    expect(leader.log()).toContain(removedMessage)
    const newLeader = await cluster.leader()
    expect(newLeader).not.toBe(leader)
    await progress("writes after removing the leader", 200)
    await load.stop()

    // A removed member started again is refused and stops.
    follower.spawn({ initialClusterState: "existing" })
    expect(await follower.waitForExit(30_000), follower.logTail()).toBeDefined()
    expect(follower.log().split(removedMessage).length).toBeGreaterThan(2)

    const remaining = cluster.running()
    expect(remaining.map((m) => m.name).sort()).toEqual([asker.name, n4.name].sort())
    for (const member of remaining) {
      const lost = lostWrites(load.acknowledged, await readLoadKeys(member.clientEndpoint))
      expect(lost, `${member.name} lost acknowledged writes`).toEqual([])
    }
    const remainingIds = await Promise.all(remaining.map((m) => memberIdOf(m.clientEndpoint, m)))
    for (const member of remaining) {
      const listed = await memberList(member.clientEndpoint)
      expect(listed.map((m) => m.ID).sort()).toEqual([...remainingIds].sort())
      for (const m of listed) {
        expect(m.isLearner ?? false).toBe(false)
        expect(remaining.find((r) => r.peerUrl === m.peerURLs[0])?.name).toBe(m.name)
      }
      const others = remaining.filter((r) => r !== member).map((r) => r.clientEndpoint)
      const status = await etcdctl(member.clientEndpoint, ["endpoint", "status", `--endpoints=${others.join(",")}`, "-w", "json"])
      expect(status.code, status.stderr).toBe(0)
      const statuses = JSON.parse(status.stdout.replace(/"(leader|member_id|cluster_id)":(\d+)/g, '"$1":"$2"')) as Array<{
        Endpoint: string
        Status: { header: { member_id: string }; leader: string; isLearner?: boolean }
      }>
      expect(statuses.length).toBe(remaining.length)
      const newLeaderId = remainingIds[remaining.indexOf(newLeader)]!
      for (const s of statuses) {
        expect(BigInt(s.Status.leader).toString(16)).toBe(newLeaderId)
        expect(s.Status.isLearner ?? false).toBe(false)
      }
      const health = await etcdctl(member.clientEndpoint, ["endpoint", "health", "--cluster"])
      expect(health.code, health.stderr).toBe(0)
      for (const r of remaining) expect(health.stdout + health.stderr).toContain(`${r.clientUrl} is healthy`)
      expect(health.stdout + health.stderr).not.toContain("unhealthy")
    }
    console.log(`membership: ${load.acknowledged.size} acknowledged writes checked on ${remaining.length} members, ${load.failures()} failed puts (${JSON.stringify([...load.failureKinds()])})`)
  })
})
