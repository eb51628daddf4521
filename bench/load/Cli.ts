// What both side-by-side benches share on the command line: options, the run timing, the order
// in which the two systems take turns, and the one-line report of a run.
import * as os from "node:os"
import type { ServerKind } from "./Servers.ts"
import type { Measurement, Timing } from "./Workloads.ts"

export interface BenchOptions {
  readonly option: (name: string) => string | undefined
  readonly has: (flag: string) => boolean
  readonly timing: Timing
  readonly reps: number
  readonly dataRoot: string
  /** Whether a row id was selected by --rows (all rows when there is no --rows). */
  readonly wanted: (id: string) => boolean
}

export function benchOptions(args: ReadonlyArray<string>): BenchOptions {
  const option = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`)
    return at >= 0 ? args[at + 1] : undefined
  }
  const selected = option("rows")?.split(",")
  return {
    option,
    has: (flag) => args.includes(`--${flag}`),
    timing: { warmupMs: Number(option("warmup") ?? 1.5) * 1000, measureMs: Number(option("seconds") ?? 5) * 1000 },
    reps: Number(option("reps") ?? 2),
    dataRoot: option("data-root") ?? os.tmpdir(),
    wanted: (id) => selected === undefined || selected.includes(id),
  }
}

export const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(" ")

/** Which system goes first alternates, so both see similar machine load. */
export const order = (turn: number): ReadonlyArray<ServerKind> => (turn % 2 === 0 ? ["etcd", "verikv"] : ["verikv", "etcd"])

/** One run on one line; `serverLabel` names whose CPU was measured ("server", "cluster"). */
export const formatRun = (m: Measurement, serverLabel: string) =>
  `${Math.round(m.opsPerSecond).toLocaleString("en").padStart(9)}  p50 ${m.p50Ms.toFixed(2)} p99 ${m.p99Ms.toFixed(2)} ms` +
  `  ${serverLabel} ${m.serverCores.toFixed(2)} cores ${m.serverCpuUsPerOp.toFixed(1)} us/op` +
  `  gen ${m.generatorCores.toFixed(2)}  other ${m.otherCores.toFixed(2)}` +
  (m.failures > 0 ? `  FAILURES ${m.failures}` : "") + (m.note !== "" ? `  (${m.note})` : "")
