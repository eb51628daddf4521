import { describe, expect, it } from "vitest"
import { BUGS, safetyBugNames } from "../../src/raft/Bugs.ts"
import { bugBounds, runs } from "./Bounds.ts"
import { describeCounterexample } from "./Describe.ts"
import { explore, replay } from "./Explorer.ts"

describe("the model checker finds every bug of the zoo", () => {
  for (const bug of safetyBugNames()) {
    it(`${bug}: ${BUGS[bug]}`, () => {
      const bounds = runs[bugBounds[bug]]
      const bugs = new Set([bug])
      const result = explore({ bounds, bugs })
      expect(result.violations, `no violation on run ${bounds.name}`).toBeGreaterThan(0)
      const cex = result.counterexample!
      // The counterexample replays from the initial state to the same violation.
      expect(replay(bounds, bugs, cex.actions).violation?.invariant).toBe(cex.violation.invariant)
      const table = describeCounterexample(bounds, bugs, cex)
      expect(table).toContain(`violation: ${cex.violation.invariant}`)
      expect(table.split("\n").length).toBeGreaterThan(cex.actions.length)
    })
  }
})
