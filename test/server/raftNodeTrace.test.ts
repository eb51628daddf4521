// Node-loop trace validation has teeth: a 3-node RaftNode cluster (test/server/TracedCluster.ts)
// traces clean under elections, writes and a follower's catch-up, and each planted node-loop bug
// (src/server/NodeTrace.ts) is caught by src/check/node-loop.ts with the rule it breaks.
import { describe, expect, it } from "vitest"
import { checkNodeLoopTrace, describeViolation, type NodeLoopRule } from "../../src/check/node-loop.ts"
import { parseServerTraceLine } from "../../src/check/server-trace-format.ts"
import type { BugName } from "../../src/raft/Bugs.ts"
import type { NodeLoopBug } from "../../src/server/NodeTrace.ts"
import { tracedScenario } from "./TracedCluster.ts"

async function tracedRun(snapshotCount: number, bugs?: ReadonlySet<NodeLoopBug>, coreBugs?: ReadonlySet<BugName>) {
  const options = { snapshotCount, ...(bugs === undefined ? {} : { bugs }), ...(coreBugs === undefined ? {} : { coreBugs }) }
  const lines = await tracedScenario(options, 20)
  return checkNodeLoopTrace(lines.map(parseServerTraceLine))
}

describe("node-loop trace validation of a RaftNode cluster", () => {
  it("accepts a clean run (catch-up by appends)", async () => {
    const report = await tracedRun(1000)
    expect(report.violations.map(describeViolation)).toEqual([])
    expect(report.members).toBe(3)
    console.log(`clean run, catch-up by appends: ${report.events} events validated`)
  }, 60_000)

  it("accepts a clean run with snapshots (catch-up by InstallSnapshot)", async () => {
    const report = await tracedRun(8)
    expect(report.violations.map(describeViolation)).toEqual([])
    console.log(`clean run with snapshots: ${report.events} events validated`)
  }, 60_000)

  const plants: ReadonlyArray<readonly [NodeLoopBug, ReadonlyArray<NodeLoopRule>]> = [
    ["SendBeforePersist", ["VoteDurableBeforeSend", "MatchDurableBeforeSend"]],
    ["ApplyBeforePersist", ["ApplyDurable"]],
    ["SaveWithoutSync", ["VoteDurableBeforeSend", "MatchDurableBeforeSend", "ApplyDurable"]],
  ]
  for (const [bug, rules] of plants) {
    it(`catches ${bug} (${rules.join(", ")})`, async () => {
      const report = await tracedRun(1000, new Set([bug]))
      const found = new Set(report.violations.map((v) => v.rule))
      for (const rule of rules) expect(found, report.violations.map(describeViolation).join("\n")).toContain(rule)
      console.log(`${bug}: ${report.events} events, ${report.violations.length + report.violationsDropped} violations, first:\n` +
        report.violations.slice(0, 3).map(describeViolation).join("\n"))
    }, 60_000)
  }

  // Two bugs of the core's zoo that TLC's trace validation cannot see (spec/README.md): a vote
  // left out of the hard state shows only after a restart, and applying is not in the spec.
  const corePlants: ReadonlyArray<readonly [BugName, NodeLoopRule]> = [
    ["VoteNotPersisted", "VoteDurableBeforeSend"],
    ["ApplyUncommitted", "ApplyCommitted"],
  ]
  for (const [bug, rule] of corePlants) {
    it(`catches the core's ${bug} (${rule})`, async () => {
      const report = await tracedRun(1000, undefined, new Set([bug]))
      expect(report.violations.map((v) => v.rule), report.violations.map(describeViolation).join("\n")).toContain(rule)
      console.log(`${bug}: ${report.events} events, ${report.violations.length + report.violationsDropped} violations, first:\n` +
        report.violations.slice(0, 3).map(describeViolation).join("\n"))
    }, 60_000)
  }
})
