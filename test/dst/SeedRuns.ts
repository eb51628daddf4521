// Runs a block of seeds for the CI tests and prints what they checked.
import { expect } from "vitest"
import { addToTotals, describeResult, describeTotals, newTotals, type Totals } from "./Report.ts"
import { simulate, type SimOptions, type SimResult } from "./Simulation.ts"

/** Events per seed in CI (the soak takes more: npm run sim -- --seeds 5000 --steps 20000). */
export const CI_STEPS = 12_000

export interface SeedBlock {
  readonly totals: Totals
  readonly failed: ReadonlyArray<SimResult>
}

/** Runs seeds [first, first + count) and prints each failure in full and the totals. */
export async function runSeedBlock(
  first: number, count: number, options: Partial<Omit<SimOptions, "seed">> = {},
): Promise<SeedBlock> {
  const totals = newTotals()
  const failed: Array<SimResult> = []
  for (let seed = first; seed < first + count; seed++) {
    const result = await simulate({ seed, steps: CI_STEPS, nodes: 3, ...options })
    addToTotals(totals, result)
    if (result.failure !== undefined) {
      failed.push(result)
      console.log(describeResult(result, true))
    }
  }
  console.log(`dst seeds ${first}..${first + count - 1}: ${describeTotals(totals)}`)
  return { totals, failed }
}

/** The CI check of one block: every seed passes, and the block checked a real amount of work. */
export async function expectSeedBlockPasses(
  first: number, count: number, options: Partial<Omit<SimOptions, "seed">> = {},
): Promise<void> {
  const { totals, failed } = await runSeedBlock(first, count, options)
  expect(failed.map((result) => `seed ${result.options.seed}: ${result.failure?.kind}`)).toEqual([])
  expect(totals.seeds).toBe(count)
  // The checker's UNKNOWN (step budget spent) proves nothing: it may not become the norm.
  expect(totals.checkUnknown).toBeLessThanOrEqual(Math.ceil(count / 10))
  expect(totals.operations).toBeGreaterThan(count * 100)
}
