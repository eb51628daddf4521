// verikv side by side with etcd 3.4 as 3-member clusters on loopback (both with
// --heartbeat-interval 100 --election-timeout 1000, data dirs on the real disk): the same load
// generator as `npm run bench`, its connections spread evenly over the three members, and the
// fail-over time after kill -9 of the leader. Each run starts a fresh cluster; runs alternate
// which system goes first. Writes the tables into bench/README.md between the cluster markers
// when every row ran at least twice.
//
// Run: npm run bench:cluster [-- --seconds 5] [-- --warmup 1.5] [-- --reps 2] [-- --kills 5]
//      [-- --rows put64,put256,lin256,watch,failover] [-- --data-root /tmp] [-- --no-readme]
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { benchOptions, formatRun, loadAverage, order } from "./load/Cli.ts"
import { ELECTION_TIMEOUT_MS, HEARTBEAT_MS, startCluster } from "./load/Clusters.ts"
import { killLeaderOnce, type FailOver } from "./load/FailOver.ts"
import { formatResults, median, replaceBetweenMarkers, type RowResult } from "./load/Report.ts"
import type { Row } from "./load/Rows.ts"
import { describeVerikv, type ServerKind } from "./load/Servers.ts"
import { putSpec, rangeSpec, runClosedLoop, runWatchFanOut, type Measurement } from "./load/Workloads.ts"

const { option, has, timing, reps, dataRoot, wanted } = benchOptions(process.argv.slice(2))
const kills = Number(option("kills") ?? 5)
const readmePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "README.md")
const BEGIN = "<!-- bench:cluster:begin (written by npm run bench:cluster) -->"
const END = "<!-- bench:cluster:end -->"

/** 9 connections: 3 per member, so clients (client i on connection i mod 9) split evenly. */
const CONNECTIONS = 9
const WATCHERS = 1_000

const clusterRows: ReadonlyArray<Row> = [
  { id: "put64", label: "3-member put, 64 clients", unit: "ops/s", run: (s, t) => runClosedLoop(s, putSpec(64, CONNECTIONS), t) },
  { id: "put256", label: "3-member put, 256 clients", unit: "ops/s", run: (s, t) => runClosedLoop(s, putSpec(256, CONNECTIONS), t) },
  { id: "lin256", label: "3-member linearizable range (one key), 256 clients", unit: "ops/s",
    run: (s, t) => runClosedLoop(s, rangeSpec(256, CONNECTIONS, false), t) },
  { id: "watch", label: `3-member watch fan-out, 1 writer -> ${WATCHERS} watchers`, unit: "events/s",
    run: (s, t) => runWatchFanOut(s, { watchers: WATCHERS, connections: CONNECTIONS }, t) },
]

const fmt = (m: Measurement) => formatRun(m, "cluster")

let turn = 0

async function runRow(row: Row): Promise<RowResult> {
  const runs: Record<ServerKind, Array<Measurement>> = { etcd: [], verikv: [] }
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of order(turn++)) {
      const cluster = await startCluster(kind, dataRoot)
      try {
        const leader = await cluster.leader()
        const measurement = await row.run(cluster.asServer(), timing)
        runs[kind].push({ ...measurement, note: [measurement.note, `leader ${leader.name}`].filter((n) => n !== "").join("; ") })
        console.log(`  ${row.id.padEnd(8)} ${kind.padEnd(6)} #${rep + 1} ${fmt(measurement)} (leader ${leader.name})`)
      } finally {
        await cluster.stop()
      }
    }
  }
  return { row, runs }
}

async function runFailOver(): Promise<Record<ServerKind, Array<FailOver>>> {
  const results: Record<ServerKind, Array<FailOver>> = { etcd: [], verikv: [] }
  for (const kind of order(turn++)) {
    const cluster = await startCluster(kind, dataRoot)
    try {
      for (let k = 0; k < kills; k++) {
        const outcome = await killLeaderOnce(cluster)
        results[kind].push(outcome)
        console.log(`  failover ${kind.padEnd(6)} #${k + 1} ${outcome.milliseconds.toFixed(0)} ms (killed ${outcome.killed}, ` +
          `${outcome.failedProbes} probes failed)`)
      }
    } finally {
      await cluster.stop()
    }
  }
  return results
}

function failOverTable(results: Record<ServerKind, Array<FailOver>>): string {
  const times = (kind: ServerKind) => results[kind].map((f) => f.milliseconds)
  const list = (kind: ServerKind) => times(kind).map((t) => t.toFixed(0)).join(", ")
  const etcd = median(times("etcd"))
  const verikv = median(times("verikv"))
  const ratio = verikv / etcd
  return [
    `| fail-over: kill -9 of the leader to the first put through a survivor, ms (median of ${kills}) | ` +
      `${etcd.toFixed(0)} | ${verikv.toFixed(0)} | **${ratio.toFixed(2)}** ${ratio <= 1 ? "meets" : "below"} (lower is better) | ` +
      `etcd: ${list("etcd")}; verikv: ${list("verikv")} |`,
  ].join("\n")
}

const started = Date.now()
const loadAtStart = loadAverage()
console.log(`3-member clusters, verikv vs etcd: ${timing.measureMs / 1000} s per run after ${timing.warmupMs / 1000} s warm-up, ` +
  `${reps} runs per row, ${kills} kills per system, data under ${dataRoot}; load average ${loadAtStart}`)
const results: Array<RowResult> = []
for (const row of clusterRows) if (wanted(row.id)) results.push(await runRow(row))
const failOver = wanted("failover") ? await runFailOver() : undefined
const minutes = (Date.now() - started) / 60_000
const context = `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${describeVerikv()}, ${os.availableParallelism()} cores, ` +
  `Node ${process.version}, 3 members each, --heartbeat-interval ${HEARTBEAT_MS} --election-timeout ${ELECTION_TIMEOUT_MS}, ` +
  `${timing.measureMs / 1000} s per run after ${timing.warmupMs / 1000} s warm-up, ${reps} runs per row ` +
  `(alternating which system goes first), data dirs under ${dataRoot}; ` +
  `load average ${loadAtStart} at start, ${loadAverage()} at end; whole bench ${minutes.toFixed(1)} min`
const table = [
  formatResults(results, undefined, context),
  ...(failOver === undefined ? [] : [
    "",
    "| row | etcd 3.4 | verikv | verikv/etcd | every kill |",
    "|---|---:|---:|---|---|",
    failOverTable(failOver),
  ]),
].join("\n")
console.log(`\n${table}`)
const complete = results.length === clusterRows.length && failOver !== undefined && reps >= 2
if (!has("no-readme") && complete) {
  fs.writeFileSync(readmePath, replaceBetweenMarkers(fs.readFileSync(readmePath, "utf8"), table, BEGIN, END))
  console.log(`written to ${readmePath}`)
} else if (!complete) {
  console.log("(not every row ran with at least 2 runs: bench/README.md left as it was)")
}
