// How many faults of each kind a run injected; printed per run and summed over seeds.

export const FAULT_KINDS = [
  "drop",
  "duplicate",
  "reorder",
  "slowMessage",
  "partition",
  "crash",
  "lostUnsyncedWrite",
  "tornWrite",
  "slowFsync",
  "pause",
  "leaderTransfer",
  "compaction",
  "snapshotInstall",
  "snapshotReadBack",
] as const

export type FaultKind = (typeof FAULT_KINDS)[number]

export type FaultCounts = Record<FaultKind, number>

export function zeroFaultCounts(): FaultCounts {
  return Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as FaultCounts
}

export function addFaultCounts(into: FaultCounts, from: FaultCounts): void {
  for (const kind of FAULT_KINDS) into[kind] += from[kind]
}

export function describeFaultCounts(counts: FaultCounts): string {
  return FAULT_KINDS.map((kind) => `${kind}=${counts[kind]}`).join(" ")
}
