// `npm run model [-- flags]`: the explicit-state model checker of the real src/raft core.
// Exit 0: no violation; 1: a violation (its counterexample is printed); 2: bad flags.
import { spawnSync } from "node:child_process"
import os from "node:os"
import v8 from "node:v8"
import { BUGS, isBugName, livenessBugs, type SafetyBugName, safetyBugNames } from "../../src/raft/Bugs.ts"
import { type Bounds, boundSetNames, boundSets, bugBounds, runs } from "./Bounds.ts"
import { describeCounterexample } from "./Describe.ts"
import { explore, type ExploreResult } from "./Explorer.ts"

const usage = `usage: npm run model -- [flags]
  --bounds NAME        bound set: ${boundSetNames().join(", ")} (default ci)
  --max-term N         state constraint on currentTerm
  --max-log N          state constraint on log length
  --max-messages N     state constraint on messages in flight
  --max-restarts N     crash-restarts per behaviour
  --max-proposals N    client proposals per behaviour
  --max-reads N        ReadIndex requests per behaviour
  --max-duplicates N   message duplications per behaviour
  --max-transfers N    leader transfers per behaviour
  --max-compactions N  log compactions per behaviour
  --pre-vote on|off    PreVote in the core
  --bug NAME           switch on a zoo bug (and use its bounds unless --bounds is given)
  --list-bugs          list the zoo bugs and the bounds each is searched with
  --seconds LIMIT      stop each run after LIMIT seconds (the search is then incomplete)
  --keep-going         count every violation instead of stopping at the first
  --verbose            print progress after each BFS level`

type CountField =
  | "maxTerm" | "maxLog" | "maxMessages" | "maxRestarts" | "maxProposals" | "maxReads"
  | "maxDuplicates" | "maxTransfers" | "maxCompactions"

const numberFlags: Readonly<Record<string, CountField>> = {
  "--max-term": "maxTerm",
  "--max-log": "maxLog",
  "--max-messages": "maxMessages",
  "--max-restarts": "maxRestarts",
  "--max-proposals": "maxProposals",
  "--max-reads": "maxReads",
  "--max-duplicates": "maxDuplicates",
  "--max-transfers": "maxTransfers",
  "--max-compactions": "maxCompactions",
}

type Overrides = { -readonly [K in keyof Bounds]?: Bounds[K] }

interface CliOptions {
  boundsName: string | undefined
  overrides: Overrides
  bug: SafetyBugName | undefined
  listBugs: boolean
  seconds: number | undefined
  keepGoing: boolean
  verbose: boolean
}

class UsageError extends Error {}

function parseCount(flag: string, text: string | undefined, allowFraction = false): number {
  const n = Number(text)
  const ok = text !== undefined && text !== "" && Number.isFinite(n) && n >= 0
  if (!ok || (!allowFraction && !Number.isInteger(n))) {
    throw new UsageError(`${flag} needs a non-negative ${allowFraction ? "number" : "integer"}`)
  }
  return n
}

function parseArgs(argv: ReadonlyArray<string>): CliOptions {
  const options: CliOptions = {
    boundsName: undefined, overrides: {}, bug: undefined, listBugs: false,
    seconds: undefined, keepGoing: false, verbose: false,
  }
  for (let k = 0; k < argv.length; k++) {
    const flag = argv[k]!
    const arg = (): string | undefined => argv[++k]
    const field = numberFlags[flag]
    if (field !== undefined) options.overrides[field] = parseCount(flag, arg())
    else if (flag === "--bounds") options.boundsName = parseBoundsName(arg())
    else if (flag === "--bug") options.bug = parseBug(arg())
    else if (flag === "--pre-vote") options.overrides.preVote = parseOnOff(flag, arg())
    else if (flag === "--seconds") options.seconds = parseCount(flag, arg(), true)
    else if (flag === "--list-bugs") options.listBugs = true
    else if (flag === "--keep-going") options.keepGoing = true
    else if (flag === "--verbose") options.verbose = true
    else throw new UsageError(`unknown flag ${flag}`)
  }
  return options
}

function parseBoundsName(name: string | undefined): string {
  if (name === undefined || !Object.hasOwn(boundSets, name)) {
    throw new UsageError(`--bounds needs one of ${boundSetNames().join(", ")}`)
  }
  return name
}

function parseBug(name: string | undefined): SafetyBugName {
  const bug = safetyBugNames().find((b) => b === name)
  if (bug !== undefined) return bug
  if (name !== undefined && isBugName(name)) {
    throw new UsageError(`${name} breaks only liveness, which the model checker does not check (see test/sim/zoo.test.ts)`)
  }
  throw new UsageError(`--bug needs one of ${safetyBugNames().join(", ")} (see --list-bugs)`)
}

function parseOnOff(flag: string, text: string | undefined): boolean {
  if (text !== "on" && text !== "off") throw new UsageError(`${flag} needs on or off`)
  return text === "on"
}

function runsFor(options: CliOptions): ReadonlyArray<Bounds> {
  const base = options.boundsName !== undefined ? boundSets[options.boundsName]!
    : options.bug !== undefined ? [runs[bugBounds[options.bug]]]
    : boundSets.ci!
  return base.map((b) => ({ ...b, ...options.overrides }))
}

function listBugs(): void {
  for (const name of safetyBugNames()) {
    console.log(`${name.padEnd(30)} bounds: ${bugBounds[name].padEnd(18)} ${BUGS[name]}`)
  }
  for (const name of livenessBugs) {
    console.log(`${name.padEnd(30)} ${"(liveness: test/sim)".padEnd(26)} ${BUGS[name]}`)
  }
}

const fixed = (x: number): string => x.toFixed(1)

function runLine(name: string, r: ExploreResult): string {
  const rate = Math.round(r.states / Math.max(r.seconds, 1e-3))
  return `run ${name}: states=${r.states} distinct=${r.distinct} depth=${r.depth} ` +
    `violations=${r.violations} seconds=${fixed(r.seconds)} states/s=${rate}` +
    (r.complete || r.violations > 0 ? "" : " (time limit: search incomplete)")
}

function main(argv: ReadonlyArray<string>): number {
  let options: CliOptions
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage)
    return 0
  }
  try {
    options = parseArgs(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    console.error(`model: ${error.message}`)
    console.error(usage)
    return 2
  }
  if (options.listBugs) {
    listBugs()
    return 0
  }
  return check(options)
}

function check(options: CliOptions): number {
  const bugs = options.bug === undefined ? undefined : new Set([options.bug])
  const totals = { states: 0, distinct: 0, depth: 0, violations: 0, seconds: 0 }
  for (const bounds of runsFor(options)) {
    const result = explore({
      bounds,
      ...(bugs === undefined ? {} : { bugs }),
      ...(options.seconds === undefined ? {} : { secondsLimit: options.seconds }),
      keepGoing: options.keepGoing,
      ...(options.verbose ? { onLevel: (p) => console.log(`  ${JSON.stringify(p)}`) } : {}),
    })
    console.log(runLine(bounds.name, result))
    totals.states += result.states
    totals.distinct += result.distinct
    totals.depth = Math.max(totals.depth, result.depth)
    totals.violations += result.violations
    totals.seconds += result.seconds
    if (result.counterexample !== undefined) {
      const steps = result.counterexample.actions.length
      console.log(`counterexample (${steps} steps, run ${bounds.name}):`)
      console.log(describeCounterexample(bounds, bugs, result.counterexample))
      if (!options.keepGoing) break
    }
  }
  console.log(
    `model: states=${totals.states} distinct=${totals.distinct} depth=${totals.depth} ` +
      `violations=${totals.violations} seconds=${fixed(totals.seconds)}`,
  )
  return totals.violations > 0 ? 1 : 0
}

/**
 * The BFS frontier holds real core states (a few KB each); Node's default heap (about 4 GB)
 * is too small for wide bounds. Rerun under a larger heap when the machine has the memory.
 */
function rerunWithLargerHeap(): number | undefined {
  const wantMb = Math.min(16384, Math.floor((os.totalmem() / 2 ** 20) * 0.6))
  const haveMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20
  if (process.env.VERIKV_MODEL_HEAP !== undefined || wantMb <= haveMb * 1.25) return undefined
  const child = spawnSync(
    process.execPath,
    [`--max-old-space-size=${wantMb}`, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: "inherit", env: { ...process.env, VERIKV_MODEL_HEAP: String(wantMb) } },
  )
  return child.status ?? 1
}

process.exitCode = rerunWithLargerHeap() ?? main(process.argv.slice(2))
