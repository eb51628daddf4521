// Real verikv processes trace clean: three members (test/support/VerikvCluster.ts) each append
// their Raft transitions to their own --experimental-trace-file under a write load; one follower
// is killed (SIGKILL) and restarted on its data directory mid-load, so its file holds two runs
// and the validator checks that the real WAL recovered what its trace says was durable. Every
// file validates clean with the node-loop validator (the core's events per member included), as
// `npm run validate-traces -- --server-traces DIR` would.
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { describeViolation } from "../../src/check/node-loop.ts"
import { delay } from "../support/EtcdProcess.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../support/VerikvCluster.ts"
import { startWriteLoad, type WriteLoad } from "../support/WriteLoad.ts"
import { serverTraceFiles, validateServerTraceFile } from "./ServerTraceFiles.ts"

const tempRoot = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
const traceDir = fs.mkdtempSync(path.join(tempRoot, "verikv-server-traces-"))
afterAll(() => fs.rmSync(traceDir, { recursive: true, force: true }))

/** Polls (bounded) until the load has this many acknowledged writes. */
async function acknowledgedAtLeast(load: WriteLoad, count: number): Promise<void> {
  for (let k = 0; k < 1200 && load.acknowledged.size < count; k++) await delay(50)
  expect(load.acknowledged.size, `load failures: ${[...load.failureKinds()].join("; ")}`).toBeGreaterThanOrEqual(count)
}

describe("server trace files of a real 3-member cluster", () => {
  it("validate clean under a write load with a follower killed and restarted", async () => {
    // Members are prepared one by one, so that each start gets its own trace file.
    const cluster: VerikvCluster = await startVerikvCluster({ size: 0, flags: ["--snapshot-count=100"] })
    let load: WriteLoad | undefined
    try {
      const members: ClusterMember[] = []
      for (const name of ["n1", "n2", "n3"]) members.push(await cluster.prepareMember(name))
      await Promise.all(members.map((m) => m.start({
        initialClusterState: "new",
        flags: [`--experimental-trace-file=${path.join(traceDir, `${m.name}.ndjson`)}`],
      })))
      const leader = await cluster.leader()
      const follower = members.find((m) => m !== leader)!
      load = startWriteLoad(() => cluster.running().map((m) => m.clientEndpoint))
      await acknowledgedAtLeast(load, 150)
      await follower.kill()
      await acknowledgedAtLeast(load, 300)
      await follower.restart()
      await acknowledgedAtLeast(load, 450)
      await load.stop()
      load = undefined
    } finally {
      await load?.stop()
      await cluster.stop() // SIGTERM: each member flushes its trace at exit
    }
    const files = serverTraceFiles([traceDir])
    expect(files.map((f) => path.basename(f))).toEqual(["n1.ndjson", "n2.ndjson", "n3.ndjson"])
    for (const file of files) {
      const verdict = validateServerTraceFile(file)
      expect(verdict.malformed).toBeUndefined()
      expect(verdict.report.violations.map(describeViolation)).toEqual([])
      expect(verdict.report.members).toBe(1)
      expect(verdict.report.events).toBeGreaterThan(450)
      console.log(`${path.basename(file)}: ${verdict.report.events} events validated${verdict.truncated ? " (last line cut off)" : ""}`)
    }
    const starts = files.map((f) => fs.readFileSync(f, "utf8").split("\n").filter((l) => l.includes('"kind":"Start"')).length)
    expect(starts.toSorted()).toEqual([1, 1, 2])
  }, 180_000)
})
