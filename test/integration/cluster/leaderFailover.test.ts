// kill -9 of the leader under a write load, on 3- and 5-member clusters. 32 writers put unique keys
// through every member. Checked: a survivor commits again (the time from the kill to the first put
// sent after it and acknowledged is printed, not asserted), no acknowledged put is lost on any
// survivor (key by key, serializable and linearizable reads), the killed member restarts and shows
// every acknowledged put, and all members report the same HashKV at one revision. With
// --snapshot-count=200 and a compaction, the survivors' logs are compacted past everything the
// killed member held, so it can only catch up by a snapshot from the leader.
import fs from "node:fs"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { delay } from "../../support/EtcdProcess.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../../support/VerikvCluster.ts"
import { callMember, checkMember, currentRevision, hashesAtOneRevision, hashesByEtcdctl, waitForRevision } from "./ClusterChecks.ts"
import { Ledger, probeFirstCommit, startClusterLoad } from "./ClusterLoad.ts"

const timingFlags = ["--heartbeat-interval=100", "--election-timeout=1000"]
const writers = 32
const warmUpMs = 1500
const loadAfterFailoverMs = 1500
const failoverBoundMs = 20_000
const catchUpBoundMs = 30_000
/** Entries the killed leader may hold beyond what the survivors have: one per put in flight, and slack. */
const uncommittedTailMax = writers + 100

const snapshotFileName = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/

/** Snapshot files in a member's data dir: name -> index. */
function snapshotFiles(member: ClusterMember): Map<string, number> {
  const dir = path.join(member.dataDir, "member", "snap")
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : []
  const files = new Map<string, number>()
  for (const name of names) {
    const match = snapshotFileName.exec(name)
    if (match !== null) files.set(name, Number.parseInt(match[2]!, 16))
  }
  return files
}

async function raftIndexOf(member: ClusterMember): Promise<number> {
  const status = await callMember(member, "Maintenance", "Status", {})
  if (!status.ok) throw new Error(`Status on ${member.name}: ${status.message}`)
  return Number(status.response.raftIndex)
}

async function untilBounded(what: string, boundMs: number, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + boundMs
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms`)
    await delay(50)
  }
}

async function expectEveryAckedPut(members: ReadonlyArray<ClusterMember>, ledger: Ledger): Promise<string[]> {
  const revision = await currentRevision(members[0]!)
  const lines: string[] = []
  for (const member of members) {
    await waitForRevision(member, revision, catchUpBoundMs)
    for (const mode of ["serializable", "linearizable"] as const) {
      const report = await checkMember(member, ledger, mode)
      expect(report.missing.slice(0, 5), `${member.name} ${mode}: acknowledged puts missing`).toEqual([])
      expect(report.missing.length).toBe(0)
      expect(report.wrongValue.slice(0, 5), `${member.name} ${mode}: wrong values`).toEqual([])
      expect(report.unexpected.slice(0, 5), `${member.name} ${mode}: keys never put`).toEqual([])
      lines.push(`${member.name} ${mode}: ${report.presentKeys} keys at revision ${report.revision}, ${report.unackedPresent} unacknowledged present`)
    }
  }
  return lines
}

interface Scenario {
  readonly size: number
  readonly snapshotCount?: number
}

const scenarios: ReadonlyArray<Scenario> = [
  { size: 3 },
  { size: 5 },
  { size: 3, snapshotCount: 200 },
  { size: 5, snapshotCount: 200 },
]

describe.each(scenarios)("kill -9 of the leader: $size members, snapshot count $snapshotCount", (scenario) => {
  let cluster: VerikvCluster | undefined
  afterAll(async () => {
    await cluster?.stop()
  })

  it("elects a new leader, loses no acknowledged put, and the killed member catches up", async () => {
    const snapshotFlags = scenario.snapshotCount === undefined ? [] : [`--snapshot-count=${scenario.snapshotCount}`]
    cluster = await startVerikvCluster({ size: scenario.size, flags: [...timingFlags, ...snapshotFlags] })
    const members = cluster.members
    const ledger = new Ledger()
    const load = startClusterLoad(members, ledger, writers, "kill")
    let loadStopped = false
    const stopLoad = async () => {
      if (!loadStopped) await load.stop()
      loadStopped = true
    }
    const report: string[] = []
    try {
      // A loaded machine may take longer than the warm-up to elect the first leader: the kill
      // waits (bounded) until the load has committed something.
      await delay(warmUpMs)
      await untilBounded("the load commits before the kill", 30_000, () => ledger.acked.size > 0)
      const ackedBeforeKill = ledger.acked.size
      const leader = await cluster.leader()
      const killMs = performance.now()
      await leader.kill()
      const survivors = cluster.running()
      const failover = await probeFirstCommit(survivors, ledger, killMs, failoverBoundMs)
      expect(failover, `a put through a survivor within ${failoverBoundMs} ms`).toBeDefined()
      report.push(`killed leader ${leader.name} after ${ackedBeforeKill} acknowledged puts; fail-over (kill to the first acknowledged put through a survivor): ${failover!.afterMs.toFixed(0)} ms (through ${failover!.member})`)
      const newLeader = await cluster.leader()
      expect(newLeader.name).not.toBe(leader.name)

      let snapshotBound: number | undefined
      if (scenario.snapshotCount !== undefined) {
        // Whatever the killed leader logged lies at or below this index.
        const survivorIndexes = await Promise.all(survivors.map(raftIndexOf))
        snapshotBound = Math.max(...survivorIndexes) + uncommittedTailMax
        const compactTo = (await currentRevision(newLeader)) - 10
        const compacted = await callMember(newLeader, "KV", "Compact", { revision: compactTo, physical: true })
        expect(compacted.ok, `Compact to ${compactTo}`).toBe(true)
        report.push(`compacted to revision ${compactTo}; the survivors' logs must be compacted past index ${snapshotBound}`)
        const bound = snapshotBound
        await untilBounded("the new leader compacts its log past the killed member's", catchUpBoundMs,
          () => survivors.every((m) => [...snapshotFiles(m).values()].some((index) => index > bound)))
      } else {
        await delay(loadAfterFailoverMs)
      }
      await stopLoad()
      report.push(`load: ${ledger.sent.size} puts sent, ${ledger.acked.size} acknowledged, failures ${JSON.stringify(Object.fromEntries(ledger.failures))}`)

      report.push(...(await expectEveryAckedPut(survivors, ledger)))

      // Nothing is written from here on, so these are the snapshots a survivor can send.
      const survivorSnapshots = new Set(survivors.flatMap((m) => [...snapshotFiles(m).keys()]))
      await leader.restart()
      report.push(...(await expectEveryAckedPut([leader], ledger)))
      if (snapshotBound !== undefined) {
        const bound = snapshotBound
        const installed = [...snapshotFiles(leader)].filter(([name, index]) => index > bound && survivorSnapshots.has(name))
        expect(installed.length, `${leader.name} holds a survivor's snapshot past index ${bound}`).toBeGreaterThan(0)
        report.push(`${leader.name} caught up by the leader's snapshot ${installed[0]![0]}`)
      }

      const { revision, hashes } = await hashesAtOneRevision(cluster.members, catchUpBoundMs)
      expect(new Set(hashes.map((h) => `${h.hash}/${h.compactRevision}`)).size, JSON.stringify(hashes)).toBe(1)
      const byEtcdctl = await hashesByEtcdctl(cluster.members, revision)
      expect(cluster.members.map((m) => byEtcdctl.get(m.clientEndpoint)), "etcdctl endpoint hashkv").toEqual(hashes.map((h) => h.hash))
      report.push(`HashKV at revision ${revision} on ${hashes.length} members: ${hashes[0]!.hash} (compacted at ${hashes[0]!.compactRevision})`)
    } finally {
      await stopLoad()
      console.log(`[kill -9, ${scenario.size} members, snapshot count ${scenario.snapshotCount ?? "default"}]\n  ${report.join("\n  ")}`)
    }
  }, 120_000)
})
