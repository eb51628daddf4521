// One fault run, end to end: a 5-member cluster behind proxies, a register load and a few watchers,
// a seeded nemesis for a few seconds, then healing and the checks. Returns a report; nothing here
// asserts, so the tests and the soak CLI decide what fails. Every process it starts is stopped by
// pid before it returns, whatever happened.
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { checkHistory, type CheckResult } from "../../../src/check/linearizability.ts"
import { formatHistory } from "../../../src/check/history-format.ts"
import type { Operation } from "../../../src/check/history.ts"
import { checkWatches, type WatchCheckResult } from "../../../src/check/watch.ts"
import { Random } from "../Random.ts"
import { type ConvergenceReport, checkConvergence, finalReads, lostWrites, readTruth, repeatedValues, revisionHoles, waitForWatchers } from "./FinalChecks.ts"
import { startFaultCluster } from "./FaultCluster.ts"
import { healAll, mixedFaults, runNemesis, type FaultWeights, type NemesisLog } from "./Nemesis.ts"
import { startRegisterLoad } from "./RegisterLoad.ts"
import { startLateWatcher, startWatchers } from "./Watchers.ts"

export interface FaultRunOptions {
  readonly seed: number
  readonly size?: number
  readonly loadMs?: number
  readonly clients?: number
  readonly keyCount?: number
  readonly weights?: FaultWeights
  /** Overlapping faults (see NemesisOptions). */
  readonly overlap?: boolean
  /** Search steps for the linearizability check. */
  readonly stepsMax?: number
}

export interface FaultRunReport {
  readonly seed: number
  readonly operations: { readonly total: number; readonly completed: number; readonly unknown: number }
  readonly nemesis: NemesisLog
  readonly linearizability: CheckResult
  readonly watches: WatchCheckResult
  readonly watchersCaughtUp: string
  /** Acknowledged writes whose value is not among the store's events. */
  readonly lost: ReadonlyArray<string>
  /** PUT events of the store that repeat a value (every value is written once). */
  readonly repeated: ReadonlyArray<string>
  /** Revisions the truth has no event for. */
  readonly holes: ReadonlyArray<number>
  readonly convergence: ConvergenceReport
  readonly errors: ReadonlyMap<string, number>
  /** Where the history was written (NDJSON), when the run found something. */
  historyFile?: string
}

const keyPrefix = "f/"
export const defaults = { size: 5, loadMs: 6_000, clients: 10, keyCount: 5, stepsMax: 20_000_000 }

export async function runFaults(options: FaultRunOptions): Promise<FaultRunReport> {
  const settings = { ...defaults, ...options }
  const random = new Random(options.seed)
  const fc = await startFaultCluster(settings.size)
  const endpoints = () => fc.current().filter((m) => m.member.running()).map((m) => m.member.clientEndpoint)
  const keys = Array.from({ length: settings.keyCount }, (_, k) => `${keyPrefix}k${k}`)
  const watchers = startWatchers(fc, keys, random)
  const late = startLateWatcher(fc, keys, random.pick(fc.current()), settings.loadMs / 2).then((w) => {
    if (w !== undefined) watchers.push(w)
  })
  const load = startRegisterLoad({ clients: settings.clients, keys, callDeadlineMs: 2_000, endpoints, random: new Random(options.seed ^ 0x5bd1e995) })
  let nemesis: NemesisLog | undefined
  try {
    const weights = options.weights ?? mixedFaults
    nemesis = await runNemesis(fc, { random, weights, durationMs: settings.loadMs, overlap: options.overlap === true })
    await load.stop()
    await late
    await healAll(fc)
    const leader = await fc.leader(30_000)
    const history: Operation[] = [...load.history, ...(await finalReads(leader.member, keys, settings.clients * 1000))]
    const truth = await readTruth(leader.member)
    const resumes = watchers.reduce((sum, w) => sum + w.recorder.resumes(), 0)
    const watchersCaughtUp = `${await waitForWatchers(watchers, truth)}; streams resumed ${resumes} times`
    await Promise.all(watchers.map((w) => w.recorder.stop()))
    const linearizability = checkHistory(history, { stepsMax: settings.stepsMax })
    const watches = checkWatches(watchers.map((w) => ({ name: w.name, ...w.recorder.spec, events: w.recorder.events })), truth)
    const report: FaultRunReport = {
      seed: options.seed,
      operations: {
        total: history.length,
        completed: history.filter((o) => o.completion !== undefined).length,
        unknown: history.filter((o) => o.completion === undefined).length,
      },
      nemesis,
      linearizability,
      watches,
      watchersCaughtUp,
      lost: lostWrites(history, truth),
      repeated: repeatedValues(truth),
      holes: revisionHoles(truth),
      convergence: await checkConvergence(fc.current().map((m) => m.member)),
      errors: load.errors,
    }
    if (violations(report) > 0) report.historyFile = saveHistory(options.seed, history)
    return report
  } catch (error) {
    // A run that cannot finish its checks (no leader after healing, a member that does not come
    // back) is a failure too; say what the nemesis did and what the members logged last.
    const lines = nemesis?.lines ?? ["(the nemesis did not finish)"]
    const tails = fc.current().map((m) => `--- ${m.member.name} (${m.member.running() ? "running" : "down"}) ---\n${m.member.logTail()}`)
    const historyFile = saveHistory(options.seed, load.history)
    const why = error instanceof Error ? error.message : String(error)
    throw new Error(`seed ${options.seed}: ${why}\nhistory: ${historyFile}\nnemesis:\n  ${lines.join("\n  ")}\n${tails.join("\n")}`, { cause: error })
  } finally {
    await load.stop()
    await late
    await Promise.all(watchers.map((w) => w.recorder.stop()))
    await fc.stop()
  }
}

/** Everything a run found wrong: 0 for a clean run. */
export function violations(report: FaultRunReport): number {
  const linearizability = report.linearizability.kind === "violation" ? 1 : 0
  const convergence = report.convergence.agreed ? 0 : 1
  const store = report.lost.length + report.repeated.length + report.holes.length
  return linearizability + report.watches.violations.length + store + convergence
}

function saveHistory(seed: number, history: ReadonlyArray<Operation>): string {
  const file = path.join(os.tmpdir(), `verikv-faults-${seed}-${Date.now()}.ndjson`)
  fs.writeFileSync(file, formatHistory(history))
  return file
}
