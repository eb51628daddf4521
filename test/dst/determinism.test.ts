// The same seed replays the same run: the hash of the whole event log (every event's time and
// label, every history record, the final history) and the history itself must match. The trace
// hooks only observe: a run with them is the same run.
import { describe, expect, it } from "vitest"
import { formatHistory } from "../../src/check/index.ts"
import { simulate, type SimHooks } from "./Simulation.ts"

const STEPS = 4000

function countingHooks(): { hooks: SimHooks; counts: Record<string, number> } {
  const counts: Record<string, number> = { core: 0, nodeLoop: 0, network: 0, restart: 0 }
  return {
    counts,
    hooks: {
      core: () => counts["core"]!++,
      nodeLoop: () => counts["nodeLoop"]!++,
      network: () => counts["network"]!++,
      restart: () => counts["restart"]!++,
    },
  }
}

describe("deterministic simulation", () => {
  it("replays a seed exactly, with or without trace hooks", async () => {
    for (const nodes of [3, 5]) {
      const first = await simulate({ seed: 42, steps: STEPS, nodes })
      const traced = countingHooks()
      const second = await simulate({ seed: 42, steps: STEPS, nodes, hooks: traced.hooks })
      expect(second.eventHash).toBe(first.eventHash)
      expect(formatHistory(second.history)).toBe(formatHistory(first.history))
      expect(second.faults).toEqual(first.faults)
      expect(second.events).toBe(first.events)
      expect(first.failure).toBeUndefined()
      // The hooks saw the run: spec actions, node-loop events, network faults, (re)starts.
      expect(traced.counts["core"]).toBeGreaterThan(0)
      expect(traced.counts["nodeLoop"]).toBeGreaterThan(0)
      expect(traced.counts["restart"]).toBeGreaterThanOrEqual(nodes)
      const third = countingHooks()
      await simulate({ seed: 42, steps: STEPS, nodes, hooks: third.hooks })
      expect(third.counts).toEqual(traced.counts)
    }
  })

  it("gives another seed another run", async () => {
    const a = await simulate({ seed: 1, steps: STEPS, nodes: 3 })
    const b = await simulate({ seed: 2, steps: STEPS, nodes: 3 })
    expect(a.eventHash).not.toBe(b.eventHash)
  })
})
