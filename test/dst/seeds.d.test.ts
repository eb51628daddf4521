// CI seeds 151..200 of the deterministic simulator on 5-member clusters; the four seeds.*.test.ts
// files run in parallel and together cover 200 seeds.
import { it } from "vitest"
import { expectSeedBlockPasses } from "./SeedRuns.ts"

it("seeds 151..200 pass: linearizable, no lost write, equal stores, live after healing", async () => {
  await expectSeedBlockPasses(151, 50, { nodes: 5 })
})
