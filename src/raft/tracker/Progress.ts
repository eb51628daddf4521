// What a leader knows about one follower's log (etcd's tracker.Progress, simplified):
//   0 <= matchIndex < nextIndex, and at most `inflightCountMax` appends are unacknowledged.
import { assert } from "../../assert.ts"
import type { LogIndex } from "../Types.ts"

export type ProgressState = "Probe" | "Replicate" | "Snapshot"

export interface Progress {
  /** Highest index known to match the leader's log (spec: matchIndex[i][j]). */
  matchIndex: LogIndex
  /** Next index to send. */
  nextIndex: LogIndex
  state: ProgressState
  /** Last index of each unacknowledged append, ascending (Replicate only). */
  inflight: LogIndex[]
  /** In Probe, one message at a time: set once sent, cleared by any response. */
  probeSent: boolean
  /** Snapshot index being sent (Snapshot only). */
  pendingSnapshot: LogIndex
  /** Heard from since the last CheckQuorum. */
  recentActive: boolean
}

export function newProgress(nextIndex: LogIndex): Progress {
  return {
    matchIndex: 0 as LogIndex,
    nextIndex,
    state: "Probe",
    inflight: [],
    probeSent: false,
    pendingSnapshot: 0 as LogIndex,
    recentActive: true,
  }
}

export function cloneProgress(p: Progress): Progress {
  return { ...p, inflight: p.inflight.slice() }
}

export function becomeProbe(p: Progress): void {
  if (p.state === "Snapshot") p.nextIndex = (Math.max(p.matchIndex, p.pendingSnapshot) + 1) as LogIndex
  else p.nextIndex = (p.matchIndex + 1) as LogIndex
  p.state = "Probe"
  p.inflight = []
  p.probeSent = false
  p.pendingSnapshot = 0 as LogIndex
}

export function becomeReplicate(p: Progress): void {
  p.state = "Replicate"
  p.nextIndex = (p.matchIndex + 1) as LogIndex
  p.inflight = []
  p.probeSent = false
  p.pendingSnapshot = 0 as LogIndex
}

export function becomeSnapshot(p: Progress, snapshotIndex: LogIndex): void {
  p.state = "Snapshot"
  p.inflight = []
  p.probeSent = false
  p.pendingSnapshot = snapshotIndex
}

/** Whether another append may be sent now. */
export function canSendAppend(p: Progress, inflightCountMax: number): boolean {
  switch (p.state) {
    case "Probe": return !p.probeSent
    case "Replicate": return p.inflight.length < inflightCountMax
    case "Snapshot": return false
  }
}

/** Records an append covering up to `last` that was just sent. */
export function sentAppend(p: Progress, last: LogIndex, entryCount: number): void {
  if (p.state === "Replicate") {
    if (entryCount > 0) {
      p.nextIndex = (last + 1) as LogIndex
      p.inflight.push(last)
    }
  } else if (p.state === "Probe") {
    p.probeSent = true
  }
}

/** A success for `index`; returns whether matchIndex advanced. */
export function maybeUpdate(p: Progress, index: LogIndex): boolean {
  p.probeSent = false
  let updated = false
  if (index > p.matchIndex) {
    p.matchIndex = index
    updated = true
  }
  if (p.nextIndex < index + 1) p.nextIndex = (index + 1) as LogIndex
  while ((p.inflight[0] ?? Infinity) <= index) p.inflight.shift()
  assert(p.matchIndex < p.nextIndex, "progress: matchIndex >= nextIndex")
  return updated
}

/**
 * A rejection of prevLogIndex `rejected` with the follower's last index `hint`; returns whether
 * nextIndex moved back (false for a stale rejection).
 */
export function maybeDecrease(p: Progress, rejected: LogIndex, hint: LogIndex): boolean {
  if (p.state === "Replicate") {
    if (rejected <= p.matchIndex) return false // stale: that part already matched
    p.nextIndex = (p.matchIndex + 1) as LogIndex
    p.state = "Probe"
    p.inflight = []
    p.probeSent = false
    return true
  }
  if (p.nextIndex - 1 !== rejected) return false // not the probe we are waiting for
  p.nextIndex = Math.max(Math.min(rejected, hint + 1), p.matchIndex + 1) as LogIndex
  p.probeSent = false
  return true
}
