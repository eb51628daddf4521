// The shape every fault test file shares: `runs` fault runs, one after the other, each on a fresh
// cluster with its own seed, each printing its report and failing on any violation. The seeds are
// drawn at random (printed first) unless VERIKV_FAULTS_SEED fixes the first one.
import { describe, expect, it } from "vitest"
import { runFaults, violations } from "./FaultRun.ts"
import { faultMixes, type FaultMix } from "./Nemesis.ts"
import { describeReport } from "./Report.ts"

export const seedVariable = "VERIKV_FAULTS_SEED"

export function firstSeed(): number {
  const fixed = process.env[seedVariable]
  return fixed !== undefined && fixed !== "" ? Number(fixed) : Math.floor(Math.random() * 2 ** 31)
}

/** Load per CI run: short, so that four files of five runs each fit in a few minutes. */
const ciLoadMs = 4_000

export function faultSuite(mix: FaultMix, runs: number): void {
  const base = firstSeed()
  const title = `fault runs, ${mix} faults`
  describe(title, () => {
    for (let k = 0; k < runs; k++) {
      const seed = base + k
      it(`seed ${seed}`, async () => {
        const report = await runFaults({ seed, weights: faultMixes[mix], loadMs: ciLoadMs })
        console.log(`[${title}]\n${describeReport(report)}`)
        expect(report.operations.completed, "the load got answers").toBeGreaterThan(0)
        expect(report.linearizability.kind, "linearizability (a spent budget fails too)").toBe("linearizable")
        expect(violations(report), describeReport(report)).toBe(0)
      }, 180_000)
    }
  })
}
