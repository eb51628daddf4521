// Writes NDJSON traces of random simulation runs (test/sim/TraceWriter.ts) for trace validation.
//
//   npm run trace -- --out DIR [--count N] [--steps S] [--seed FIRST] [--config NAME]... [--bug NAME]...
//
// Trace k runs a schedule of exactly S steps generated from seed FIRST + k, on the simulation
// configurations in turn (threePreVote, threePlain, fiveMembership; or those named). --bug plants
// a bug of the zoo (src/raft/Bugs.ts) so that validation can be shown to reject its traces.
// Exits 1 if a run broke an invariant (its trace is still written).
import { parseArgs } from "node:util"
import { isBugName } from "../src/raft/Bugs.ts"
import { simConfigs } from "../test/sim/Schedule.ts"
import { writeTraces } from "../test/sim/TraceWriter.ts"

type ConfigKey = keyof typeof simConfigs

function isConfigKey(name: string): name is ConfigKey {
  return Object.hasOwn(simConfigs, name)
}

function main(): number {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      count: { type: "string", default: "10" },
      steps: { type: "string", default: "200" },
      seed: { type: "string", default: "1" },
      config: { type: "string", multiple: true },
      bug: { type: "string", multiple: true },
    },
  })
  if (values.out === undefined) {
    console.error("usage: npm run trace -- --out DIR [--count N] [--steps S] [--seed FIRST] [--config NAME]... [--bug NAME]...")
    return 2
  }
  const configs = values.config ?? []
  const bugs = values.bug ?? []
  const unknown = [...configs.filter((c) => !isConfigKey(c)), ...bugs.filter((b) => !isBugName(b))]
  if (unknown.length > 0) {
    console.error(`unknown configuration or bug: ${unknown.join(", ")} (configurations: ${Object.keys(simConfigs).join(", ")})`)
    return 2
  }
  const summaries = writeTraces({
    dir: values.out,
    count: Number(values.count),
    steps: Number(values.steps),
    firstSeed: Number(values.seed),
    ...(configs.length === 0 ? {} : { configs: configs.filter(isConfigKey) }),
    ...(bugs.length === 0 ? {} : { bugs: new Set(bugs.filter(isBugName)) }),
  })
  let failed = 0
  for (const { file, events, failure } of summaries) {
    const verdict = failure === undefined ? "ok" : `FAILED ${failure.invariant} at step ${failure.step}`
    if (failure !== undefined) failed += 1
    console.log(`${file}  ${events} events  ${verdict}`)
  }
  return failed === 0 ? 0 : 1
}

process.exitCode = main()
