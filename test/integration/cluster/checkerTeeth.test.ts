// The cluster checks catch what they are for. On a healthy cluster after a load, the faults the
// fault tests look for are planted through the client API: an acknowledged put deleted (a lost
// write), one overwritten (a wrong value), a key no put sent (a phantom). Each check must name
// exactly the planted key on every member, in both read modes; and HashKV must tell apart a member
// that is one put behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { delay } from "../../support/EtcdProcess.ts"
import { startVerikvCluster, type VerikvCluster } from "../../support/VerikvCluster.ts"
import { callMember, checkMember, currentRevision, hashesAtOneRevision, waitForRevision } from "./ClusterChecks.ts"
import { Ledger, loadPrefix, startClusterLoad } from "./ClusterLoad.ts"

const catchUpBoundMs = 20_000

describe("cluster checks", () => {
  let cluster: VerikvCluster
  const ledger = new Ledger()
  beforeAll(async () => {
    cluster = await startVerikvCluster({ size: 3 })
    const load = startClusterLoad(cluster.members, ledger, 8, "teeth")
    await delay(500)
    await load.stop()
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  const everyMemberReports = async () => {
    const revision = await currentRevision(cluster.members[0]!)
    const reports = []
    for (const member of cluster.members) {
      await waitForRevision(member, revision, catchUpBoundMs)
      for (const mode of ["serializable", "linearizable"] as const) reports.push(await checkMember(member, ledger, mode))
    }
    return reports
  }

  const put = async (key: string, value: string) => {
    const outcome = await callMember(cluster.members[0]!, "KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) })
    expect(outcome.ok).toBe(true)
  }

  it("pass on the untouched cluster", async () => {
    expect(ledger.acked.size).toBeGreaterThan(0)
    for (const report of await everyMemberReports()) {
      expect([report.missing, report.wrongValue, report.unexpected]).toEqual([[], [], []])
    }
  })

  it("name a lost, a changed and a phantom key", async () => {
    const [lost, changed] = [...ledger.acked.keys()]
    const phantom = `${loadPrefix}never-sent`
    const deleted = await callMember(cluster.members[1]!, "KV", "DeleteRange", { key: Buffer.from(lost!) })
    expect(deleted.ok).toBe(true)
    await put(changed!, "another value")
    await put(phantom, "x")
    const reports = await everyMemberReports()
    expect(reports).toHaveLength(2 * cluster.members.length)
    for (const report of reports) {
      expect([report.member, report.mode, report.missing, report.wrongValue, report.unexpected])
        .toEqual([report.member, report.mode, [lost], [changed], [phantom]])
    }
  })

  it("HashKV tells apart a member one put behind, and agrees when none is", async () => {
    await put(`${loadPrefix}teeth/last`, "y")
    const { revision, hashes } = await hashesAtOneRevision(cluster.members, catchUpBoundMs)
    expect(new Set(hashes.map((h) => h.hash)).size).toBe(1)
    const behind = await callMember(cluster.members[2]!, "Maintenance", "HashKV", { revision: revision - 1 })
    expect(behind.ok).toBe(true)
    if (behind.ok) expect(Number(behind.response.hash)).not.toBe(hashes[0]!.hash)
  })
})
