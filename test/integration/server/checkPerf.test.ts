// `etcdctl check perf --load s` against verikv: etcdctl's own 60-second load check (50 clients,
// 150 puts/s), then its cleanup (delete the prefix, compact, defragment). Whether the figures PASS
// depends on the machine, so the test asserts what does not: the check runs to completion with no
// request failing, and its cleanup leaves the store as etcdctl expects.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { etcdctl } from "../../support/Etcdctl.ts"
import { etcdSuiteSkipped } from "../../support/EtcdProcess.ts"
import { startVerikv, type VerikvProcess } from "../../support/VerikvProcess.ts"

/** The check lasts 60 s by etcdctl's design; past this bound it is killed and the test fails. */
const checkBoundMs = 150_000
const prefix = "/etcdctl-check-perf/"

// etcdctl comes with etcd (Debian etcd-client); skipped only where the etcd suites are.
describe.skipIf(etcdSuiteSkipped())("etcdctl check perf against verikv", () => {
  let verikv: VerikvProcess | undefined

  beforeAll(async () => {
    verikv = await startVerikv()
  })

  afterAll(async () => {
    await verikv?.stop()
  })

  it("runs the small load to completion without a failed request, then cleans up", async () => {
    if (verikv === undefined) throw new Error("beforeAll did not start verikv")
    const endpoint = verikv.clientEndpoint
    const check = await etcdctl(endpoint, ["check", "perf", "--load=s", `--prefix=${prefix}`, "--auto-compact", "--auto-defrag"], "", checkBoundMs)
    const verdicts = check.stdout.split(/\r|\n/).filter((line) => /^(PASS|FAIL|Slowest|Stddev)/.test(line))
    // Shown with the test's output, for the record: throughput and latency on this machine.
    console.info(`check perf against verikv (exit ${check.code}):\n${verdicts.join("\n")}`)
    expect(check.stderr).not.toMatch(/^Error:/m)
    expect(check.stdout).not.toContain("FAIL: too many errors")
    expect(check.stdout).toMatch(/(PASS|FAIL): Throughput (is|too low:) \d+ writes\/s/)
    expect(check.stdout).toMatch(/Slowest request took/)

    const left = await etcdctl(endpoint, ["get", prefix, "--prefix", "--keys-only", "-w", "json"])
    expect(left.code).toBe(0)
    expect(left.stdout).not.toContain('"kvs"')
    // --auto-compact compacted at the delete's revision: nothing older can be read.
    const old = await etcdctl(endpoint, ["get", prefix, "--prefix", "--rev=2"])
    expect(old.stderr).toContain("Error: etcdserver: mvcc: required revision has been compacted")
    expect(verikv.running()).toBe(true)
  })
})
