// npm run sim -- [--seed S] [--steps N] [--nodes K] [--bug Name] [--seeds M] [--history]
//                 [--crash-weight W] [--keep-going] [--no-verify] [--check-steps N] [--trace FILE]
// Runs the deterministic simulator on seed S (or seeds S .. S+M-1: a soak) and prints, per run,
// the seed, simulated time, operations checked, faults by kind and the checker's result. A failing
// seed prints the command that replays it; the exit code is 1 if any seed failed. --trace FILE
// (one seed) writes the run's global trace to FILE for TLC (npm run validate-traces -- FILE) and
// its server trace to FILE with .server before the extension (--server-traces); see TraceWriter.ts.
import { randomInt } from "node:crypto"
import { formatHistory } from "../../src/check/index.ts"
import { describeResult, describeTotals, newTotals, addToTotals } from "./Report.ts"
import { simulate, swarmOf, type SimOptions } from "./Simulation.ts"
import { serverTraceFileOf, writeSimTrace } from "./TraceWriter.ts"
import { describeSwarm } from "./Swarm.ts"

interface CliOptions {
  readonly seed: number
  readonly seeds: number
  readonly steps: number
  readonly nodes: number
  readonly bug: string | undefined
  readonly history: boolean
  readonly crashWeight: number | undefined
  readonly keepGoing: boolean
  readonly verify: boolean
  readonly checkStepsMax: number | undefined
  readonly trace: string | undefined
}

function parse(argv: ReadonlyArray<string>): CliOptions {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name)
    if (at === -1) return undefined
    const next = argv[at + 1]
    if (next === undefined) throw new Error(`${name} needs a value`)
    return next
  }
  const integer = (name: string, fallback: number): number => {
    const text = value(name)
    if (text === undefined) return fallback
    const parsed = Number(text)
    if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`${name} must be a non-negative integer`)
    return parsed
  }
  // A seed picked here, outside the run, and printed: the run itself never reads entropy.
  return {
    seed: integer("--seed", randomInt(2 ** 31)),
    seeds: integer("--seeds", 1),
    steps: integer("--steps", 20_000),
    nodes: integer("--nodes", 3),
    bug: value("--bug"),
    history: argv.includes("--history"),
    crashWeight: value("--crash-weight") === undefined ? undefined : integer("--crash-weight", 0),
    keepGoing: argv.includes("--keep-going"),
    verify: !argv.includes("--no-verify"),
    checkStepsMax: value("--check-steps") === undefined ? undefined : integer("--check-steps", 0),
    trace: value("--trace"),
  }
}

async function main(): Promise<number> {
  const cli = parse(process.argv.slice(2))
  const totals = newTotals()
  if (cli.trace !== undefined && cli.seeds !== 1) throw new Error("--trace traces one seed (no --seeds)")
  for (let k = 0; k < cli.seeds; k++) {
    const options: SimOptions = {
      seed: cli.seed + k,
      steps: cli.steps,
      nodes: cli.nodes,
      keepGoing: cli.keepGoing,
      verify: cli.verify,
      ...(cli.bug === undefined ? {} : { bug: cli.bug }),
      ...(cli.crashWeight === undefined ? {} : { crashWeight: cli.crashWeight }),
      ...(cli.checkStepsMax === undefined ? {} : { checkStepsMax: cli.checkStepsMax }),
    }
    // One run: its seed and shape first, so that even a run that never ends can be replayed.
    if (cli.seeds === 1) console.log(`seed ${options.seed}; swarm: ${describeSwarm(swarmOf(options))}`)
    let result
    if (cli.trace === undefined) {
      result = await simulate(options)
    } else {
      const serverFile = serverTraceFileOf(cli.trace)
      const traced = await writeSimTrace(options, cli.trace, serverFile)
      result = traced.result
      console.log(`trace: ${traced.events} events in ${cli.trace}; server trace in ${serverFile}`)
    }
    addToTotals(totals, result)
    const verbose = cli.seeds === 1 || result.failure !== undefined
    console.log(describeResult(result, verbose))
    if (cli.history) process.stdout.write(formatHistory(result.history))
  }
  if (cli.seeds > 1) console.log(describeTotals(totals))
  return totals.failed > 0 ? 1 : 0
}

process.exitCode = await main()
