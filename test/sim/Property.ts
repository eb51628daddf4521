// The simulation as a fast-check property: generate runs, shrink a failing one, and report the
// shrunk schedule as a readable replay (one step per line, each server's role/term/commit after
// it) with the seed and path that reproduce it.
import fc from "fast-check"
import { type Run, type SimConfig, formatStep, runArbitrary } from "./Schedule.ts"
import { describeServers, runSchedule, type SimFailure } from "./Simulate.ts"

export class SimulationFailed extends Error {
  override readonly name = "SimulationFailed"
  readonly failure: SimFailure
  constructor(failure: SimFailure) {
    super(`${failure.invariant} at step ${failure.step}: ${firstLines(failure.detail, 4)}`)
    this.failure = failure
  }
}

/** The seed CI runs the properties with (fixed, so that CI is repeatable). */
export const ciSeed = 20251125

export interface CheckOptions {
  readonly numRuns: number
  readonly seed: number
  /** fast-check's counterexample path: replays exactly the failing run (needs the same seed). */
  readonly path?: string
  /** Stop at the first failure without shrinking (for "does it fail at all" checks). */
  readonly endOnFailure?: boolean
}

/** Runs and seed for CI, overridable with VERIKV_SIM_RUNS, VERIKV_SIM_SEED and VERIKV_SIM_PATH. */
export function checkOptionsFromEnv(defaults: { numRuns: number; seed: number }): CheckOptions {
  const env = process.env
  const path = env["VERIKV_SIM_PATH"]
  return {
    numRuns: env["VERIKV_SIM_RUNS"] === undefined ? defaults.numRuns : Number(env["VERIKV_SIM_RUNS"]),
    seed: env["VERIKV_SIM_SEED"] === undefined ? defaults.seed : Number(env["VERIKV_SIM_SEED"]),
    ...(path === undefined || path === "" ? {} : { path }),
  }
}

export function simulationProperty(config: SimConfig): fc.IProperty<[Run]> {
  return fc.property(runArbitrary(config), (run) => {
    const failure = runSchedule(config, run)
    if (failure !== undefined) throw new SimulationFailed(failure)
  })
}

export function checkSimulation(config: SimConfig, options: CheckOptions): fc.RunDetails<[Run]> {
  return fc.check(simulationProperty(config), {
    numRuns: options.numRuns,
    seed: options.seed,
    ...(options.path === undefined ? {} : { path: options.path }),
    ...(options.endOnFailure === true ? { endOnFailure: true } : {}),
  })
}

/** Throws an error carrying the readable report if the property fails. */
export function assertSimulation(config: SimConfig, options: CheckOptions): fc.RunDetails<[Run]> {
  const details = checkSimulation(config, options)
  if (details.failed) throw new Error(formatFailure(config, details))
  return details
}

/** The report of a failed check: how to reproduce it, then the shrunk schedule replayed. */
export function formatFailure(config: SimConfig, details: fc.RunDetails<[Run]>): string {
  const lines = [
    `simulation "${config.name}" failed after ${details.numRuns} runs (${details.numShrinks} shrinks)`,
    `reproduce: VERIKV_SIM_SEED=${details.seed} VERIKV_SIM_PATH=${details.counterexamplePath ?? ""} npx vitest run test/sim -t "${config.name}"`,
  ]
  if (details.counterexample === null) {
    lines.push(`no counterexample: ${String(details.errorInstance)}`)
    return lines.join("\n")
  }
  const [run] = details.counterexample
  lines.push(`run: ${JSON.stringify(run)}`, ...replay(config, run))
  return lines.join("\n")
}

/** Replays `run`: one line per step with the servers after it, then the failure if any. */
export function replay(config: SimConfig, run: Run): string[] {
  const lines = [`timer seed ${run.seed}, ${run.schedule.length} steps; after each step: server:Role term commit/last`]
  const failure = runSchedule(config, run, (k, step, effect, sim) => {
    const what = effect === "" ? formatStep(step) : `${formatStep(step)}: ${effect}`
    lines.push(`${String(k).padStart(4)}  ${describeServers(sim.cluster).padEnd(18 * config.servers)}  ${what}`)
  })
  if (failure === undefined) lines.push("(the replay passes: the failure depends on state outside the run)")
  else lines.push(`FAILED ${failure.invariant} at step ${failure.step}: ${firstLines(failure.detail, 6)}`)
  return lines
}

function firstLines(text: string, count: number): string {
  return text.split("\n").slice(0, count).join("\n")
}
