// Joining a running cluster: `etcdctl member add` (sent to a follower, which hands it to the
// leader), then the new member started with --initial-cluster-state existing. It learns the
// cluster ID and its member ID from its peers, and the leader, which compacted its log long ago
// (--snapshot-count 100), brings it up to date with a snapshot through the transport. Meanwhile a
// write load runs; afterwards every acknowledged write is on all four members and their HashKVs
// agree. Members that were never added, or whose peers cannot be reached, refuse to start.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { delay } from "../../support/EtcdProcess.ts"
import { etcdctl } from "../../support/Etcdctl.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../../support/VerikvCluster.ts"
import { lostWrites, readLoadKeys, startWriteLoad } from "../../support/WriteLoad.ts"

const convergeBoundMs = 60_000

/** etcdctl endpoint hashkv on each member, once all agree (polled within a bound), else throws. */
export async function agreedHashKv(members: ReadonlyArray<ClusterMember>): Promise<string> {
  const deadline = Date.now() + convergeBoundMs
  let last: string[] = []
  while (Date.now() < deadline) {
    last = []
    for (const member of members) {
      const result = await etcdctl(member.clientEndpoint, ["endpoint", "hashkv", "-w", "json"])
      const parsed = result.code === 0 ? (JSON.parse(result.stdout) as Array<{ HashKV: { hash: number; header: { revision: number } } }>) : []
      last.push(parsed[0] === undefined ? `error: ${result.stderr}` : `${parsed[0].HashKV.hash}@${parsed[0].HashKV.header.revision}`)
    }
    if (last.every((h) => h === last[0]) && !last[0]!.startsWith("error")) return last[0]!
    await delay(250)
  }
  throw new Error(`members did not agree on HashKV within ${convergeBoundMs} ms: ${last.join(", ")}`)
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms`)
    await delay(50)
  }
}

describe("joining a running cluster", () => {
  let cluster: VerikvCluster
  beforeAll(async () => {
    cluster = await startVerikvCluster({ size: 3, flags: ["--snapshot-count=100"] })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it("adds a member through a follower; it catches up by snapshot under load and agrees on HashKV", async () => {
    const leader = await cluster.leader()
    const follower = cluster.members.find((m) => m !== leader)!
    const load = startWriteLoad(() => cluster.running().map((m) => m.clientEndpoint))
    await waitFor("400 acknowledged writes", () => load.acknowledged.size >= 400, 60_000)

    const n4 = await cluster.prepareMember("n4")
    const added = await etcdctl(follower.clientEndpoint, ["member", "add", "n4", `--peer-urls=${n4.peerUrl}`])
    expect(added.code, added.stderr).toBe(0)
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added.stdout)?.[1]
    expect(initialCluster, added.stdout).toBeDefined()
    expect(added.stdout).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"')
    await n4.start({ initialClusterState: "existing", initialCluster: initialCluster! })

    const before = load.acknowledged.size
    await waitFor("200 more acknowledged writes", () => load.acknowledged.size >= before + 200, 60_000)
    await load.stop()

    expect(n4.log()).toContain("installed a snapshot from the leader")
    const all = cluster.running()
    expect(all.map((m) => m.name).sort()).toEqual(["n1", "n2", "n3", "n4"])
    const hash = await agreedHashKv(all)
    for (const member of all) {
      const lost = lostWrites(load.acknowledged, await readLoadKeys(member.clientEndpoint))
      expect(lost, `${member.name} lost acknowledged writes`).toEqual([])
    }
    const listed = await etcdctl(n4.clientEndpoint, ["member", "list"])
    expect(listed.code, listed.stderr).toBe(0)
    for (const member of all) expect(listed.stdout).toContain(`, started, ${member.name}, ${member.peerUrl}, ${member.clientUrl}, false`)
    console.log(`join: ${load.acknowledged.size} acknowledged writes checked on 4 members, ${load.failures()} failed puts (${JSON.stringify([...load.failureKinds()])}), HashKV ${hash}`)
  })

  it("refuses to start a member that was never added", async () => {
    const n5 = await cluster.prepareMember("n5")
    n5.spawn({ initialClusterState: "existing" })
    const ended = await n5.waitForExit(30_000)
    expect(ended, n5.logTail()).toBeDefined()
    expect(n5.log()).toContain("member count is unequal")
  })

  it("refuses to start a member whose listed peers cannot be reached", async () => {
    const n6 = await cluster.prepareMember("n6")
    n6.spawn({ initialClusterState: "existing", initialCluster: `n6=${n6.peerUrl},n7=http://127.0.0.1:1` })
    const ended = await n6.waitForExit(30_000)
    expect(ended, n6.logTail()).toBeDefined()
    expect(n6.log()).toContain("could not retrieve cluster information from the given URLs")
  })
})
