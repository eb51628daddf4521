// Real verikv processes trace clean: three members (test/support/VerikvCluster.ts) each append
// their Raft transitions to their own --experimental-trace-file under a write load; a follower,
// then the leader, is killed (SIGKILL) and restarted on its data directory mid-load, so their
// files hold two runs and the validator checks that the real WAL recovered what the trace says
// was durable (and that no vote sent before the kill is contradicted after it). Every
// file validates clean with the node-loop validator (the core's events per member included), as
// `npm run validate-traces -- --server-traces DIR` would.
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { describeViolation } from "../../src/check/node-loop.ts"
import { delay } from "../support/EtcdProcess.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../support/VerikvCluster.ts"
import { lostWrites, readLoadKeys, startWriteLoad, type WriteLoad } from "../support/WriteLoad.ts"
import { serverTraceFiles, validateServerTraceFile } from "./ServerTraceFiles.ts"

const tempRoot = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
const traceDir = fs.mkdtempSync(path.join(tempRoot, "verikv-server-traces-"))
afterAll(() => fs.rmSync(traceDir, { recursive: true, force: true }))

/** How many lines of each action or kind a trace file holds. */
function kindCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const match of text.matchAll(/^\{"(?:action|kind)":"(\w+)"/gm)) {
    counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1)
  }
  return counts
}

/** Polls (bounded) until a linearizable read through `member` sees every write acknowledged so far. */
async function caughtUp(member: ClusterMember, load: WriteLoad): Promise<void> {
  const acknowledged = new Map(load.acknowledged)
  let missing = acknowledged.size
  for (let k = 0; k < 600 && missing > 0; k++) {
    try {
      missing = lostWrites(acknowledged, await readLoadKeys(member.clientEndpoint)).length
    } catch {
      // no leader known yet: try again
    }
    if (missing > 0) await delay(50)
  }
  expect(missing, `${member.name} did not catch up`).toBe(0)
}

/** Polls (bounded) until the load has this many acknowledged writes. */
async function acknowledgedAtLeast(load: WriteLoad, count: number): Promise<void> {
  for (let k = 0; k < 1200 && load.acknowledged.size < count; k++) await delay(50)
  expect(load.acknowledged.size, `load failures: ${[...load.failureKinds()].join("; ")}`).toBeGreaterThanOrEqual(count)
}

describe("server trace files of a real 3-member cluster", () => {
  it("validate clean under a write load with a follower, then the leader, killed and restarted", async () => {
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
      await caughtUp(follower, load)
      // Then the leader: the others elect a new one, and it comes back as a follower.
      const first = await cluster.leader()
      await first.kill()
      await acknowledgedAtLeast(load, 600)
      await first.restart()
      await acknowledgedAtLeast(load, 750)
      await caughtUp(first, load)
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
    // The files hold what the rules judge: durable saves, votes and acks sent, applies, answers.
    const kinds = files.map((f) => kindCounts(fs.readFileSync(f, "utf8")))
    for (const kind of ["Saved", "Sent", "Applied", "HandleAppendEntriesRequest"]) {
      expect(kinds.every((k) => (k.get(kind) ?? 0) > 0), kind).toBe(true)
    }
    expect(kinds.reduce((sum, k) => sum + (k.get("Answered") ?? 0), 0)).toBeGreaterThan(0)
    expect(kinds.reduce((sum, k) => sum + (k.get("Start") ?? 0), 0)).toBe(5)
    console.log(`trace bytes: ${files.map((f) => fs.statSync(f).size).join(", ")}`)
  }, 180_000)
})
