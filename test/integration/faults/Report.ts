// A fault run's report as text: the seed first (a failing run is rerun from it), then what was
// checked, the faults by kind, each check's result, and the first few of any violations.
import { describeOperation } from "../../../src/check/history.ts"
import { violations, type FaultRunReport } from "./FaultRun.ts"

const shownMax = 8

export function describeReport(report: FaultRunReport): string {
  const { operations, nemesis, linearizability, watches } = report
  const faults = [...nemesis.counts].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `${kind} ${n}`).join(", ")
  const lines = [
    `seed ${report.seed}: ${violations(report)} violations`,
    `operations checked ${operations.total} (${operations.completed} answered, ${operations.unknown} unknown outcome)`,
    `faults: ${faults === "" ? "none" : faults}`,
    `linearizability: ${describeLinearizability(report)}`,
    `watches: ${watches.streamsChecked} streams, ${watches.eventsChecked} events, ${watches.violations.length} violations; ${report.watchersCaughtUp}`,
    `acknowledged writes lost: ${report.lost.length}${report.lost.length > 0 ? ` (${report.lost.slice(0, shownMax).join(", ")})` : ""}`,
    `values written twice: ${report.repeated.length}${report.repeated.length > 0 ? ` (${report.repeated.slice(0, shownMax).join(", ")})` : ""}`,
    `revisions without an event: ${report.holes.length}${report.holes.length > 0 ? ` (${report.holes.slice(0, shownMax).join(", ")})` : ""}`,
    `convergence: ${report.convergence.summary}`,
    `client errors: ${[...report.errors].map(([message, n]) => `${n}x ${message}`).join("; ") || "none"}`,
    ...watches.violations.slice(0, shownMax).map((v) => `  watch ${v.kind} in ${v.stream}: ${v.detail}`),
    ...(linearizability.kind === "violation" ? linearizability.operations.map((o) => `  ${describeOperation(o)}`) : []),
    ...(report.historyFile === undefined ? [] : [`history: ${report.historyFile}`]),
    "nemesis:",
    ...nemesis.lines.map((line) => `  ${line}`),
  ]
  return lines.join("\n")
}

function describeLinearizability(report: FaultRunReport): string {
  const result = report.linearizability
  switch (result.kind) {
    case "linearizable":
      return `linearizable (${result.stepsUsed} steps)`
    case "unknown":
      return `unknown: search budget spent (${result.stepsUsed} steps)`
    case "violation":
      return `VIOLATION on keys ${result.keys.map((key) => JSON.stringify(key)).join(", ")}, ${result.operations.length} operations${result.minimal ? " (minimal)" : ""}:`
  }
}
