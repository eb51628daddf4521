// CI seeds 1..50 of the deterministic simulator; the four seeds.*.test.ts
// files run in parallel and together cover 200 seeds.
import { it } from "vitest"
import { expectSeedBlockPasses } from "./SeedRuns.ts"

it("seeds 1..50 pass: linearizable, no lost write, equal stores, live after healing", async () => {
  await expectSeedBlockPasses(1, 50)
})
