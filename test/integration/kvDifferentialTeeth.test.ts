// The differential suite's teeth: with a semantic bug planted in the core (the core's own bug zoo,
// or a wrapper that bends its answers), the same run against real etcd must report a mismatch.
import { afterEach, describe, expect, it } from "vitest"
import { kvBugNames } from "../../src/kv/index.ts"
import { connectEtcd, type EtcdClient } from "../support/EtcdClient.ts"
import { etcdAvailability, etcdSuiteSkipped, startEtcd, type EtcdProcess } from "../support/EtcdProcess.ts"
import { freshCore, wrapperBugs, type WrapperBugName } from "./CoreUnderTest.ts"
import { runDifferential, type KvUnderTest } from "./Differential.ts"

/** A fixed seed, so whether a planted bug is caught does not depend on the run. */
const seed = 20_261_125
const sequences = 20
const stepsPerSequence = 100

const availability = etcdAvailability()

/** For the wrapper bugs (ours), the field the report must blame. */
const blamedField: Readonly<Record<WrapperBugName, RegExp>> = {
  VersionOffByOne: /\.version$/,
  // The other branch runs: etcd's `succeeded` differs, or one branch is refused and the other not.
  NotEqualAsEqual: /^(response\.succeeded|type)$/,
  PutDropsPrevKv: /prevKv$/,
  DescendAsAscend: /kvs\[\d+\]\.\w+$/,
  TimeToLiveWithoutKeys: /^keys\.length$/,
  HashBitFlipped: /^response\.hash$/,
}

const plantedBugs: ReadonlyArray<{ readonly name: string; readonly core: () => KvUnderTest; readonly blames: RegExp }> = [
  ...kvBugNames().map((name) => ({ name: `core bug ${name}`, core: () => freshCore([name]), blames: /./ })),
  ...(Object.keys(wrapperBugs) as WrapperBugName[]).map((name) => ({
    name: `wrapper bug ${name}`,
    core: () => wrapperBugs[name](freshCore()),
    blames: blamedField[name],
  })),
]

describe.skipIf(etcdSuiteSkipped())("the differential suite catches planted bugs", () => {
  let etcd: EtcdProcess | undefined
  let client: EtcdClient | undefined

  afterEach(async () => {
    client?.close()
    await etcd?.stop()
    client = undefined
    etcd = undefined
  })

  it.each(plantedBugs)("$name", async ({ name, core, blames }) => {
    if (!availability.available) throw new Error(availability.reason)
    // etcd's revisions cannot be reset, so each planted bug meets a fresh etcd and a fresh core.
    etcd = await startEtcd()
    client = connectEtcd(etcd.clientEndpoint)
    const report = await runDifferential({ seed, sequences, stepsPerSequence, etcd: client, core: core(), etcdLogTail: etcd.logTail })
    const mismatch = report.mismatch
    if (mismatch === undefined) return expect.fail(`${name}: no difference found in ${report.stepsCompared} steps`)
    const first = mismatch.differences[0]
    console.log(`${name}: caught at step ${mismatch.runStepIndex}, ${mismatch.step.slice(0, 60)}…; ${first?.path}: etcd ${first?.etcd}, core ${first?.core}`.slice(0, 300))
    expect(mismatch.differences.map((d) => d.path)).toContainEqual(expect.stringMatching(blames))
  })
})
