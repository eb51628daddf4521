// The shape every fault test file shares: `runs` fault runs, one after the other, each on a fresh
// cluster with its own seed, each printing its report and failing on any violation. The seeds are
// drawn at random (printed first) unless VERIKV_FAULTS_SEED fixes the first one.
import { describe, expect, it } from "vitest"
import { runFaults } from "./FaultRun.ts"
import type { FaultWeights } from "./Nemesis.ts"
import { describeReport } from "./Report.ts"
import { violations } from "./FaultRun.ts"

export const seedVariable = "VERIKV_FAULTS_SEED"

export function firstSeed(): number {
  const fixed = process.env[seedVariable]
  return fixed !== undefined && fixed !== "" ? Number(fixed) : Math.floor(Math.random() * 2 ** 31)
}

export function faultSuite(title: string, runs: number, weights: FaultWeights): void {
  const base = firstSeed()
  describe(title, () => {
    for (let k = 0; k < runs; k++) {
      const seed = base + k
      it(`seed ${seed}`, async () => {
        const report = await runFaults({ seed, weights })
        console.log(`[faults: ${title}]\n${describeReport(report)}`)
        expect(report.operations.completed, "the load got answers").toBeGreaterThan(0)
        expect(report.linearizability.kind, "linearizability").not.toBe("violation")
        expect(violations(report), describeReport(report)).toBe(0)
      }, 180_000)
    }
  })
}
