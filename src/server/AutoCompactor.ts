// --auto-compaction-mode / --auto-compaction-retention, with etcd 3.4's rules:
// - revision mode: every 5 minutes, compact to (current revision - retention) if that moved;
// - periodic mode: sample the revision every min(period, 1 h) / 10; once a period has passed
//   (then every min(period, 1 h)), compact to the oldest sample, the revision of one period ago.
// The leader runs it; time is passed in, so the schedule is testable without a clock.

export type CompactionPolicy =
  | { readonly mode: "off" }
  | { readonly mode: "revision"; readonly retainRevisions: number }
  | { readonly mode: "periodic"; readonly periodMs: number }

const HOUR_MS = 3_600_000
const REVISION_CHECK_INTERVAL_MS = 5 * 60_000

/** etcd's parsing: a bare number is hours (periodic) or revisions; periodic also takes "30m", "1h30m", "10s". */
export function parseCompactionPolicy(mode: "periodic" | "revision", retention: string): CompactionPolicy {
  const text = retention.trim()
  if (mode === "revision") {
    const revisions = Number(text)
    if (!Number.isSafeInteger(revisions) || revisions < 0) throw new Error(`--auto-compaction-retention: "${retention}" is not a revision count`)
    return revisions === 0 ? { mode: "off" } : { mode: "revision", retainRevisions: revisions }
  }
  let periodMs: number
  if (/^\d+$/.test(text)) periodMs = Number(text) * HOUR_MS
  else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)]
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
      throw new Error(`--auto-compaction-retention: "${retention}" is not a duration (e.g. 1h, 30m, 10s) or a number of hours`)
    }
    const unitMs = { h: HOUR_MS, m: 60_000, s: 1000, ms: 1 } as const
    periodMs = parts.reduce((sum, p) => sum + Number(p[1]) * unitMs[p[2] as keyof typeof unitMs], 0)
  }
  return periodMs === 0 ? { mode: "off" } : { mode: "periodic", periodMs }
}

export class AutoCompactor {
  private readonly policy: CompactionPolicy
  private nextCheckMs: number
  private lastCompactedRevision = 0
  /** Periodic mode: revisions sampled every retry interval, oldest first. */
  private readonly samples: Array<number> = []
  private lastSuccessMs: number
  private waitMs: number

  constructor(policy: CompactionPolicy, nowMs: number) {
    this.policy = policy
    this.lastSuccessMs = nowMs
    this.waitMs = policy.mode === "periodic" ? policy.periodMs : 0
    this.nextCheckMs = nowMs + this.intervalMs()
  }

  private intervalMs(): number {
    switch (this.policy.mode) {
      case "off": return Number.POSITIVE_INFINITY
      case "revision": return REVISION_CHECK_INTERVAL_MS
      case "periodic": return Math.min(this.policy.periodMs, HOUR_MS) / 10
    }
  }

  /** Called often (each tick); returns a revision to compact to when one is due. */
  poll(nowMs: number, currentRevision: number): number | undefined {
    if (nowMs < this.nextCheckMs) return undefined
    this.nextCheckMs = nowMs + this.intervalMs()
    switch (this.policy.mode) {
      case "off": return undefined
      case "revision": {
        const target = currentRevision - this.policy.retainRevisions
        return target > 0 && target !== this.lastCompactedRevision ? target : undefined
      }
      case "periodic": {
        this.samples.push(currentRevision)
        const kept = Math.floor(this.policy.periodMs / this.intervalMs()) + 1
        if (this.samples.length > kept) this.samples.shift()
        if (nowMs - this.lastSuccessMs < this.waitMs) return undefined
        return this.samples[0]
      }
    }
  }

  /** The compaction to `revision` succeeded (or was already done). */
  compacted(revision: number, nowMs: number): void {
    this.lastCompactedRevision = revision
    this.lastSuccessMs = nowMs
    if (this.policy.mode === "periodic") this.waitMs = Math.min(this.policy.periodMs, HOUR_MS)
  }
}
