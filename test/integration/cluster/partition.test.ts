// Network partitions through loopback proxies on every peer link (topology in ProxiedCluster.ts).
// A minority is cut off from the majority: the leader (1 of 3, by a blackhole), the leader and a
// follower (2 of 5, by dropped connections), a follower (1 of 3, by reset connections). Checked on the minority: a put fails with etcd's timeout error, so does a
// linearizable read, and a serializable read still answers with nothing that was never written.
// A cut-off leader steps down (CheckQuorum). Checked on the majority: it elects a leader and keeps committing through every member. After
// healing: every member shows every acknowledged put (serializable and linearizable), the former
// minority commits again, and all members report the same HashKV at one revision.
import { afterAll, describe, expect, it } from "vitest"
import type { CallOutcome } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import type { LinkFault } from "../../support/LoopbackProxy.ts"
import type { ClusterMember } from "../../support/VerikvCluster.ts"
import { callMember, checkMember, hashesAtOneRevision, hashesByEtcdctl, requestTimedOut } from "./ClusterChecks.ts"
import { Ledger, probeFirstCommit, startClusterLoad } from "./ClusterLoad.ts"
import { startProxiedCluster, type ProxiedCluster } from "./ProxiedCluster.ts"

const timingFlags = ["--heartbeat-interval=100", "--election-timeout=1000"]
const grpcUnavailable = 14
const loadBeforeCutMs = 1000
const majorityCommitBoundMs = 20_000
const convergeBoundMs = 30_000

interface Scenario {
  readonly size: number
  /** How many members the partition cuts off. */
  readonly minoritySize: number
  /** Whether the leader is one of them. */
  readonly withLeader: boolean
  readonly fault: LinkFault
}

const scenarios: ReadonlyArray<Scenario> = [
  { size: 3, minoritySize: 1, withLeader: true, fault: "blackhole" },
  { size: 5, minoritySize: 2, withLeader: true, fault: "drop" },
  { size: 3, minoritySize: 1, withLeader: false, fault: "refuse" },
]

interface Timed {
  readonly outcome: CallOutcome
  readonly elapsedMs: number
}

async function timedCall(member: ClusterMember, method: string, request: object): Promise<Timed> {
  const startMs = performance.now()
  const outcome = await callMember(member, "KV", method, request)
  return { outcome, elapsedMs: performance.now() - startMs }
}

function describeOutcome(timed: Timed): string {
  const result = timed.outcome.ok ? "ok" : `code ${timed.outcome.code} "${timed.outcome.message}"`
  return `${result} after ${timed.elapsedMs.toFixed(0)} ms`
}

describe.each(scenarios)("partition: $minoritySize of $size members (leader: $withLeader) cut off by $fault", (scenario) => {
  let proxied: ProxiedCluster | undefined
  afterAll(async () => {
    await proxied?.stop()
  })

  it("the minority cannot commit or read linearizably, the majority commits, and all converge after healing", async () => {
    proxied = await startProxiedCluster(scenario.size, timingFlags)
    const { cluster } = proxied
    const report: string[] = []
    const ledger = new Ledger()
    try {
      const warmUp = startClusterLoad(cluster.members, ledger, 16, "before")
      await delay(loadBeforeCutMs)
      await warmUp.stop()
      expect(ledger.acked.size, "the load commits before the cut").toBeGreaterThan(0)

      const leader = await cluster.leader()
      const followers = cluster.members.filter((m) => m !== leader)
      const minority = scenario.withLeader ? [leader, ...followers.slice(0, scenario.minoritySize - 1)] : followers.slice(0, scenario.minoritySize)
      const majority = cluster.members.filter((m) => !minority.includes(m))
      const cutMs = performance.now()
      proxied.partition(minority.map((m) => m.name), scenario.fault)
      report.push(`${ledger.acked.size} puts acknowledged before the cut; cut off ${minority.map((m) => m.name).join(", ")} (leader ${leader.name}) by ${scenario.fault}`)

      // The minority's requests run while the majority elects a leader and commits.
      const minorityProbes = Promise.all(minority.map(async (member) => {
        const { key, value } = ledger.next(`minority/${member.name}`)
        const [put, linearizable, serializable] = await Promise.all([
          timedCall(member, "Put", { key: Buffer.from(key), value: Buffer.from(value) }),
          timedCall(member, "Range", { key: Buffer.from(key) }),
          timedCall(member, "Range", { key: Buffer.from("cluster-load/"), rangeEnd: Buffer.from("cluster-load0"), serializable: true }),
        ])
        return { member, put, linearizable, serializable }
      }))
      const firstCommit = await probeFirstCommit(majority, ledger, cutMs, majorityCommitBoundMs)
      expect(firstCommit, "the majority commits").toBeDefined()
      report.push(`majority: first acknowledged put ${firstCommit!.afterMs.toFixed(0)} ms after the cut (through ${firstCommit!.member})`)
      const afterElectionMs = performance.now()
      const majorityLoad = startClusterLoad(majority, ledger, 16, "during")
      const majorityLoadMinMs = 1000
      const [probes] = await Promise.all([minorityProbes, delay(majorityLoadMinMs)])
      await majorityLoad.stop()

      for (const { member, put, linearizable, serializable } of probes) {
        report.push(`${member.name} put: ${describeOutcome(put)}; linearizable read: ${describeOutcome(linearizable)}; serializable read: ${describeOutcome(serializable)}`)
        expect(put.outcome.ok, `a put through ${member.name} in the minority`).toBe(false)
        expect(put.outcome.ok ? undefined : [put.outcome.code, put.outcome.message]).toEqual([grpcUnavailable, requestTimedOut])
        expect(linearizable.outcome.ok ? undefined : [linearizable.outcome.code, linearizable.outcome.message]).toEqual([grpcUnavailable, requestTimedOut])
        expect(serializable.outcome.ok, `a serializable read on ${member.name} answers`).toBe(true)
      }
      // Seconds into the cut, no minority member may still think it leads (CheckQuorum).
      for (const member of minority) {
        const status = await callMember(member, "Maintenance", "Status", {})
        expect(status.ok, `Status on ${member.name}`).toBe(true)
        if (!status.ok) continue
        const self = (status.response.header as { memberId: string }).memberId
        expect(String(status.response.leader), `${member.name} names itself leader while cut off`).not.toBe(self)
        report.push(`${member.name} during the cut: leader ${status.response.leader === "0" ? "unknown" : status.response.leader}, term ${status.response.raftTerm}`)
      }
      // The serializable view of the minority: possibly stale, never wrong.
      for (const member of minority) {
        const view = await checkMember(member, ledger, "serializable")
        expect(view.wrongValue).toEqual([])
        expect(view.unexpected).toEqual([])
        report.push(`${member.name} serializable view during the cut: ${view.presentKeys} keys at revision ${view.revision}`)
      }
      for (const member of majority) {
        const committed = ledger.ackedThrough(member.name, afterElectionMs)
        expect(committed, `puts through ${member.name} in the majority after the election`).toBeGreaterThan(0)
      }
      report.push(`majority load during the cut: ${majority.map((m) => `${m.name} ${ledger.ackedThrough(m.name, afterElectionMs)}`).join(", ")} acknowledged puts`)

      const faults = proxied.faultCounts()
      expect(faults.cut + faults.held, "the proxies cut or held peer connections").toBeGreaterThan(0)
      proxied.heal()
      report.push(`healed after ${(performance.now() - cutMs).toFixed(0)} ms; peer connections cut ${faults.cut}, held ${faults.held}`)
      for (const member of minority) {
        const { key, value } = ledger.next(`healed/${member.name}`)
        const deadline = performance.now() + convergeBoundMs
        let put = await callMember(member, "KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) })
        while (!put.ok && performance.now() < deadline) {
          await delay(100)
          put = await callMember(member, "KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) })
        }
        expect(put.ok, `a put through ${member.name} after healing`).toBe(true)
        if (put.ok) ledger.acked.set(key, { member: member.name, sentMs: performance.now(), answeredMs: performance.now() })
      }

      const { revision, hashes } = await hashesAtOneRevision(cluster.members, convergeBoundMs)
      expect(new Set(hashes.map((h) => h.hash)).size, JSON.stringify(hashes)).toBe(1)
      const byEtcdctl = await hashesByEtcdctl(cluster.members, revision)
      expect(cluster.members.map((m) => byEtcdctl.get(m.clientEndpoint)), "etcdctl endpoint hashkv").toEqual(hashes.map((h) => h.hash))
      for (const member of cluster.members) {
        for (const mode of ["serializable", "linearizable"] as const) {
          const view = await checkMember(member, ledger, mode)
          expect(view.missing.slice(0, 5), `${member.name} ${mode}: acknowledged puts missing`).toEqual([])
          expect(view.wrongValue).toEqual([])
          expect(view.unexpected).toEqual([])
        }
      }
      report.push(`after healing: ${ledger.acked.size} acknowledged puts on all ${hashes.length} members (both read modes); HashKV at revision ${revision}: ${hashes[0]!.hash}`)
      report.push(`puts sent ${ledger.sent.size}, failures ${JSON.stringify(Object.fromEntries(ledger.failures))}`)
    } finally {
      console.log(`[partition, ${scenario.minoritySize} of ${scenario.size} by ${scenario.fault}]\n  ${report.join("\n  ")}`)
    }
  }, 120_000)
})
