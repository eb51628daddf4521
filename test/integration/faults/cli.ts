// The fault soak: `npm run faults -- --runs N --seed S [--mix mixed|process|network|membership]
// [--load-ms MS] [--clients C] [--keys K] [--overlap]`. Runs N fault runs one after the other
// (seeds S, S+1, ...; S at random if not given, printed first), prints each report, and exits 1
// if any run found a violation or failed. Each run cleans up its processes before the next.
import { parseArgs } from "node:util"
import { runFaults, violations } from "./FaultRun.ts"
import { faultMixes, type FaultMix } from "./Nemesis.ts"
import { describeReport } from "./Report.ts"

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    seed: { type: "string" },
    mix: { type: "string", default: "mixed" },
    "load-ms": { type: "string", default: "6000" },
    clients: { type: "string", default: "10" },
    keys: { type: "string", default: "5" },
    overlap: { type: "boolean", default: false },
  },
})

// Each member's harness adds an exit hook (kill by pid if the soak dies); a run has a dozen.
process.setMaxListeners(64)
const runs = Number(values.runs)
const firstSeed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
const mix = values.mix as FaultMix
if (!(mix in faultMixes)) throw new Error(`--mix must be one of ${Object.keys(faultMixes).join(", ")}`)
const overlapping = values.overlap ? ", overlapping process faults" : ""
console.log(`faults: ${runs} runs from seed ${firstSeed}, mix ${mix}${overlapping}, load ${values["load-ms"]} ms, ${values.clients} clients, ${values.keys} keys`)

let failed = 0
const byKind = new Map<string, number>()
let operations = 0
for (let k = 0; k < runs; k++) {
  const seed = firstSeed + k
  const startMs = performance.now()
  try {
    const report = await runFaults({
      seed,
      weights: faultMixes[mix],
      loadMs: Number(values["load-ms"]),
      clients: Number(values.clients),
      keyCount: Number(values.keys),
      overlap: values.overlap,
    })
    console.log(`\n[run ${k + 1}/${runs}, ${((performance.now() - startMs) / 1000).toFixed(1)} s]\n${describeReport(report)}`)
    operations += report.operations.total
    for (const [kind, n] of report.nemesis.counts) byKind.set(kind, (byKind.get(kind) ?? 0) + n)
    if (violations(report) > 0) failed++
  } catch (error) {
    failed++
    const cause = error instanceof Error && error.cause instanceof Error ? `\ncaused by: ${error.cause.stack}` : ""
    console.log(`\n[run ${k + 1}/${runs}] seed ${seed} failed: ${error instanceof Error ? error.stack : String(error)}${cause}`)
  }
}
const faults = [...byKind].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `${kind} ${n}`).join(", ")
console.log(`\nfaults soak: ${runs} runs from seed ${firstSeed}, ${operations} operations checked, faults: ${faults}; ${failed} runs failed`)
process.exitCode = failed > 0 ? 1 : 0
