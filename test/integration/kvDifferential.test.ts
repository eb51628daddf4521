// The KV core against real etcd 3.4: thousands of seeded random operations sent to both, every
// answer compared field by field. Set VERIKV_DIFF_SEED to replay a run, VERIKV_DIFF_SEQUENCES and
// VERIKV_DIFF_STEPS to change its size.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connectEtcd, type EtcdClient } from "../support/EtcdClient.ts"
import { etcdAvailability, etcdSuiteSkipped, startEtcd, type EtcdProcess } from "../support/EtcdProcess.ts"
import { freshCore } from "./CoreUnderTest.ts"
import { describeMismatch, runDifferential } from "./Differential.ts"

const seed = Number(process.env.VERIKV_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31))
const sequences = Number(process.env.VERIKV_DIFF_SEQUENCES ?? 200)
const stepsPerSequence = Number(process.env.VERIKV_DIFF_STEPS ?? 100)

const availability = etcdAvailability()

describe.skipIf(etcdSuiteSkipped())("the KV core answers like etcd 3.4", () => {
  let etcd: EtcdProcess | undefined
  let client: EtcdClient | undefined

  beforeAll(async () => {
    if (!availability.available) throw new Error(availability.reason)
    etcd = await startEtcd()
    client = connectEtcd(etcd.clientEndpoint)
  })

  afterAll(async () => {
    client?.close()
    await etcd?.stop()
  })

  it(`matches etcd on ${sequences} random sequences of ${stepsPerSequence} steps (seed ${seed})`, async () => {
    if (client === undefined || etcd === undefined) throw new Error("etcd did not start")
    const startedMs = performance.now()
    const report = await runDifferential({ seed, sequences, stepsPerSequence, etcd: client, core: freshCore(), etcdLogTail: etcd.logTail })
    const seconds = ((performance.now() - startedMs) / 1000).toFixed(1)
    const outcomes = [...report.outcomes].sort(([a], [b]) => a.localeCompare(b))
    console.log(
      `differential: ${report.stepsCompared} steps compared with etcd in ${seconds} s (seed ${seed})\n` +
        outcomes.map(([outcome, n]) => `  ${String(n).padStart(5)}  ${outcome}`).join("\n"),
    )
    const replay = `VERIKV_DIFF_SEED=${seed} VERIKV_DIFF_SEQUENCES=${sequences} VERIKV_DIFF_STEPS=${stepsPerSequence} npx vitest run test/integration/kvDifferential.test.ts`
    if (report.mismatch !== undefined) expect.fail(describeMismatch(report, replay))
    expect(report.stepsCompared).toBeGreaterThanOrEqual(sequences * stepsPerSequence)
  })
})
