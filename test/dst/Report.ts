// What a run prints, and totals over many seeds (the CLI's soak and the CI tests).
import { addFaultCounts, describeFaultCounts, zeroFaultCounts, type FaultCounts } from "./FaultCounts.ts"
import { replayCommand, type SimResult } from "./Simulation.ts"
import { describeSwarm } from "./Swarm.ts"

export interface Totals {
  seeds: number
  failed: number
  events: number
  simTimeMs: number
  operations: number
  unknownOutcomes: number
  leaseExpiries: number
  /** Runs whose history the checker could neither prove nor refute within its budget. */
  checkUnknown: number
  readonly faults: FaultCounts
}

export function newTotals(): Totals {
  return {
    seeds: 0, failed: 0, events: 0, simTimeMs: 0, operations: 0, unknownOutcomes: 0, leaseExpiries: 0,
    checkUnknown: 0, faults: zeroFaultCounts(),
  }
}

export function addToTotals(totals: Totals, result: SimResult): void {
  totals.seeds++
  if (result.failure !== undefined) totals.failed++
  totals.events += result.events
  totals.simTimeMs += result.simTimeMs
  totals.operations += result.operations
  totals.unknownOutcomes += result.unknownOutcomes
  totals.leaseExpiries += result.leaseExpiries
  if (result.check?.kind === "unknown") totals.checkUnknown++
  addFaultCounts(totals.faults, result.faults)
}

export function describeCheck(result: SimResult): string {
  const check = result.check
  if (check === undefined) return "not run"
  if (check.kind === "unknown") return `UNKNOWN (step budget spent after ${check.stepsUsed} steps)`
  return `${check.kind} (${check.stepsUsed} steps)`
}

export function describeResult(result: SimResult, verbose: boolean): string {
  const verdict = result.failure === undefined ? "ok" : `FAILED (${result.failure.kind})`
  const head = `seed ${result.options.seed}: ${verdict}; simulated ${(result.simTimeMs / 1000).toFixed(1)} s, ` +
    `${result.events} events, ${result.operations} operations checked ` +
    `(${result.unknownOutcomes} unknown outcome), ` +
    `${result.leaseExpiries} lease expiries, ` +
    `checker ${describeCheck(result)}, event hash ${result.eventHash}`
  if (!verbose) return head
  const lines = [
    head,
    `  swarm: ${describeSwarm(result.swarm)}`,
    `  faults: ${describeFaultCounts(result.faults)}`,
    `  violations: ${result.failures.length}`,
  ]
  for (const failure of result.failures) lines.push(`  failure (${failure.kind}): ${failure.detail}`)
  if (result.failure !== undefined) lines.push(`  replay: ${replayCommand(result.options)}`)
  return lines.join("\n")
}

export function describeTotals(totals: Totals): string {
  return `${totals.seeds} seeds, ${totals.failed} failed (violations: ${totals.failed}), ` +
    `${totals.operations} operations checked ` +
    `(${totals.unknownOutcomes} unknown outcome), ${totals.checkUnknown} histories UNKNOWN to the checker, ` +
    `${totals.leaseExpiries} lease expiries, ${totals.events} events, ` +
    `${(totals.simTimeMs / 1000).toFixed(0)} s simulated\n` +
    `  faults: ${describeFaultCounts(totals.faults)}`
}
