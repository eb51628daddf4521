// The benchmark's markdown: one table of medians with verikv/etcd ratios, then every run, so the
// variance between runs (and how busy the machine was) is visible next to the figures.
import { assert } from "../../src/assert.ts"
import type { Row } from "./Rows.ts"
import type { ServerKind } from "./Servers.ts"
import type { Measurement } from "./Workloads.ts"

export interface RowResult {
  readonly row: Row
  readonly runs: Readonly<Record<ServerKind, ReadonlyArray<Measurement>>>
}

export interface RssResult {
  readonly keys: number
  readonly residentBytes: Readonly<Record<ServerKind, ReadonlyArray<number>>>
}

export const BEGIN_MARKER = "<!-- bench:results:begin (written by npm run bench) -->"
export const END_MARKER = "<!-- bench:results:end -->"

export function median(values: ReadonlyArray<number>): number {
  assert(values.length > 0, "a median of at least one value")
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const integer = (n: number) => Math.round(n).toLocaleString("en")
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1))
const pick = (runs: ReadonlyArray<Measurement>, f: (m: Measurement) => number) => median(runs.map(f))

/** Ratios per pair of runs (run i of verikv against run i of etcd, which ran next to it). */
function pairRatios(a: ReadonlyArray<number>, b: ReadonlyArray<number>): Array<number> {
  return a.map((value, i) => value / (b[i] ?? Number.NaN)).filter(Number.isFinite)
}

function ratioCell(ratios: ReadonlyArray<number>, higherIsBetter: boolean): string {
  const value = median(ratios)
  const meets = higherIsBetter ? value >= 1 : value <= 1
  const spread = ratios.length > 1 ? ` (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})` : ""
  return `**${value.toFixed(2)}**${spread} ${meets ? "meets" : "below"}`
}

function summaryLine(result: RowResult): string {
  const { etcd, verikv } = result.runs
  const ratios = pairRatios(verikv.map((m) => m.opsPerSecond), etcd.map((m) => m.opsPerSecond))
  const cpuRatios = pairRatios(verikv.map((m) => m.serverCpuUsPerOp), etcd.map((m) => m.serverCpuUsPerOp))
  const latency = (runs: ReadonlyArray<Measurement>) =>
    `${ms(pick(runs, (m) => m.p50Ms))} / ${ms(pick(runs, (m) => m.p99Ms))}`
  const failures = [...etcd, ...verikv].reduce((sum, m) => sum + m.failures, 0)
  return `| ${result.row.label} (${result.row.unit}) | ${integer(pick(etcd, (m) => m.opsPerSecond))} | ` +
    `${integer(pick(verikv, (m) => m.opsPerSecond))} | ${ratioCell(ratios, true)} | ${latency(etcd)} | ${latency(verikv)} | ` +
    `${pick(etcd, (m) => m.serverCpuUsPerOp).toFixed(1)} / ${pick(verikv, (m) => m.serverCpuUsPerOp).toFixed(1)} ` +
    `(${median(cpuRatios).toFixed(2)}) | ${failures} |`
}

function rssLine(rss: RssResult): string {
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)
  const ratios = pairRatios(rss.residentBytes.verikv, rss.residentBytes.etcd)
  return `| RSS after loading ${integer(rss.keys)} keys (8 B key, 256 B value), MiB | ` +
    `${mib(median(rss.residentBytes.etcd))} | ${mib(median(rss.residentBytes.verikv))} | ` +
    `${ratioCell(ratios, false)} (lower is better) | | | | 0 |`
}

function runLines(result: RowResult): Array<string> {
  const lines: Array<string> = []
  for (const kind of ["etcd", "verikv"] as const) {
    result.runs[kind].forEach((m, i) => {
      lines.push(`| ${result.row.id} | ${kind} #${i + 1} | ${integer(m.opsPerSecond)} | ${ms(m.p50Ms)} / ${ms(m.p99Ms)} | ` +
        `${m.serverCores.toFixed(2)} | ${m.serverCpuUsPerOp.toFixed(1)} | ${m.generatorCores.toFixed(2)} | ` +
        `${m.otherCores.toFixed(2)} | ${m.failures} | ${m.note} |`)
    })
  }
  return lines
}

export function formatResults(results: ReadonlyArray<RowResult>, rss: RssResult | undefined, context: string): string {
  return [
    `Measured ${context}.`,
    "",
    "| row | etcd 3.4 | verikv | verikv/etcd (range over runs) | etcd p50 / p99 ms | verikv p50 / p99 ms | server CPU us/op etcd / verikv (ratio) | failures |",
    "|---|---:|---:|---|---:|---:|---:|---|",
    ...results.map(summaryLine),
    ...(rss === undefined ? [] : [rssLine(rss)]),
    "",
    "Every run (server cores = CPU seconds the server used per second of the window; gen = the load",
    "generator's cores; other = the rest of the machine, i.e. other jobs sharing it):",
    "",
    "| row | run | ops/s | p50 / p99 ms | server cores | server us/op | gen cores | other cores | failed | note |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ...results.flatMap(runLines),
  ].join("\n")
}

/** Replaces what lies between the markers; adds the markers and the table at the end if absent. */
export function replaceBetweenMarkers(document: string, table: string, beginMarker = BEGIN_MARKER, endMarker = END_MARKER): string {
  const begin = document.indexOf(beginMarker)
  const end = document.indexOf(endMarker)
  if (begin < 0 || end < begin) return `${document.trimEnd()}\n\n${beginMarker}\n${table}\n${endMarker}\n`
  return `${document.slice(0, begin + beginMarker.length)}\n${table}\n${document.slice(end)}`
}
