// verikv side by side with real etcd 3.4 on this machine: the same load generator (a lean HTTP/2
// gRPC client, bench/load/) runs each row against a fresh etcd and a fresh verikv in turn, so both
// see similar machine load, and the table reports each row as verikv/etcd. Every row runs --reps
// times (alternating which server goes first) and the table shows medians with the spread.
// Writes the table into bench/README.md between its markers when every row ran.
//
// Run: npm run bench [-- --seconds 5] [-- --warmup 1.5] [-- --reps 2] [-- --rows put64,watch,rss]
//      [-- --data-root /tmp] [-- --no-readme]
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { rows, RSS_KEYS, type Row } from "./load/Rows.ts"
import { describeVerikv, startServer, type ServerKind } from "./load/Servers.ts"
import { loadAndMeasureRss, type Measurement } from "./load/Workloads.ts"
import { benchOptions, formatRun, loadAverage, order } from "./load/Cli.ts"
import { formatResults, replaceBetweenMarkers, type RowResult, type RssResult } from "./load/Report.ts"

const { has, timing, reps, dataRoot, wanted } = benchOptions(process.argv.slice(2))
const readmePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "README.md")
const fmt = (m: Measurement) => formatRun(m, "server")

async function runRow(row: Row): Promise<RowResult> {
  const runs: Record<ServerKind, Array<Measurement>> = { etcd: [], verikv: [] }
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of order(rep)) {
      const server = await startServer(kind, dataRoot)
      try {
        const measurement = await row.run(server, timing)
        runs[kind].push(measurement)
        console.log(`  ${row.id.padEnd(7)} ${kind.padEnd(6)} #${rep + 1} ${fmt(measurement)}`)
      } finally {
        await server.stop()
      }
    }
  }
  return { row, runs }
}

async function runRss(): Promise<RssResult> {
  const residentBytes: Record<ServerKind, Array<number>> = { etcd: [], verikv: [] }
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of order(rep)) {
      const server = await startServer(kind, dataRoot)
      try {
        const loaded = await loadAndMeasureRss(server, RSS_KEYS, 256, 8)
        residentBytes[kind].push(loaded.residentBytes)
        console.log(`  rss     ${kind.padEnd(6)} #${rep + 1} ${(loaded.residentBytes / 2 ** 20).toFixed(1)} MiB` +
          ` after loading ${RSS_KEYS.toLocaleString("en")} keys in ${loaded.loadSeconds.toFixed(1)} s`)
      } finally {
        await server.stop()
      }
    }
  }
  return { keys: RSS_KEYS, residentBytes }
}

const started = Date.now()
const loadAtStart = loadAverage()
console.log(`verikv vs etcd: ${timing.measureMs / 1000} s per run after ${timing.warmupMs / 1000} s warm-up, ` +
  `${reps} runs per row, data under ${dataRoot}; load average ${loadAtStart}`)
const results: Array<RowResult> = []
for (const row of rows) if (wanted(row.id)) results.push(await runRow(row))
const rss = wanted("rss") ? await runRss() : undefined
const minutes = (Date.now() - started) / 60_000
const context = `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${describeVerikv()}, ${os.availableParallelism()} cores, ` +
  `Node ${process.version}, ${timing.measureMs / 1000} s per run after ${timing.warmupMs / 1000} s warm-up, ` +
  `${reps} runs per row (alternating which server goes first), data dirs under ${dataRoot}; ` +
  `load average ${loadAtStart} at start, ${loadAverage()} at end; whole bench ${minutes.toFixed(1)} min`
const table = formatResults(results, rss, context)
console.log(`\n${table}`)
const complete = results.length === rows.length && rss !== undefined && reps >= 2
if (!has("no-readme") && complete) {
  fs.writeFileSync(readmePath, replaceBetweenMarkers(fs.readFileSync(readmePath, "utf8"), table))
  console.log(`written to ${readmePath}`)
} else if (!complete) {
  console.log("(not every row ran with at least 2 runs: bench/README.md left as it was)")
}
