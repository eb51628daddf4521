// The random simulation: fast-check drives 3- and 5-server clusters of real servers through
// random schedules (test/sim/Schedule.ts) of deliveries, ticks, drops, duplicates, partitions,
// crashes and client requests, checking the spec's invariants after every step
// (test/sim/Simulate.ts). A failure shrinks to a short schedule printed one step per line with
// every server's role, term and commit index, and the seed and path that reproduce it.
//
// After each schedule a liveness tail heals the network and checks that a leader emerges and
// every member commits its log.
//
// Environment: VERIKV_SIM_SEED, VERIKV_SIM_RUNS, VERIKV_SIM_PATH (replay the path a failure
// printed). Planted bugs the simulation must find: test/sim/zoo.test.ts.
import { describe, expect, it } from "vitest"
import type { BugName } from "../../src/raft/Bugs.ts"
import { assertSimulation, checkOptionsFromEnv, checkSimulation, ciSeed, formatFailure } from "./Property.ts"
import { simConfigs } from "./Schedule.ts"

/** Runs per property in CI: schedules average about 370 steps, so some 700,000 steps each. */
const ciRuns = 2000

describe("random simulation: the spec's invariants hold", () => {
  for (const config of Object.values(simConfigs)) {
    it(config.name, () => {
      const details = assertSimulation(config, checkOptionsFromEnv({ numRuns: ciRuns, seed: ciSeed }))
      expect(details.failed).toBe(false)
    })
  }
})

describe("random simulation: failure reports", () => {
  it("shrink to a short schedule, printed one step per line with every server's state", () => {
    const config = { ...simConfigs.threePlain, liveness: false, bugs: new Set<BugName>(["DoubleVote"]) }
    const details = checkSimulation(config, { numRuns: 200, seed: ciSeed })
    expect(details.failed).toBe(true)
    const [run] = details.counterexample!
    expect(run.schedule.length).toBeLessThan(40)
    const report = formatFailure(config, details)
    expect(report).toContain(`VERIKV_SIM_SEED=${details.seed} VERIKV_SIM_PATH=${details.counterexamplePath}`)
    expect(report).toMatch(/FAILED (ElectionSafety|AssertionFailure) at step \d+/)
    const stepLines = report.split("\n").filter((line) => /^ {0,3}\d+ {2}1:[FPCL] t\d+ c\d+\/\d+ {2}2:/.test(line))
    expect(stepLines).toHaveLength(run.schedule.length)
  })
})
