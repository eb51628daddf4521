// The leader's side of log replication: sending appends, snapshots and heartbeats, handling the
// answers, and advancing the commit index.
import { assert } from "../assert.ts"
import { recordReadAck, releaseReads, releaseReadsAfterCommit } from "./ReadIndex.ts"
import {
  becomeFollower,
  config,
  hasBug,
  otherMembers,
  type RaftState,
  send,
  syncProgress,
  trace,
} from "./Raft.ts"
import { jointCommittedIndex } from "./quorum/Joint.ts"
import {
  appendEntry,
  hasUncommittedConfig,
  lastIndex,
  sliceEntries,
  termAt,
} from "./RaftLog.ts"
import {
  becomeProbe,
  becomeReplicate,
  becomeSnapshot,
  canSendAppend,
  maybeDecrease,
  maybeUpdate,
  sentAppend,
} from "./tracker/Progress.ts"
import {
  type AppendEntriesResponse,
  type Config,
  type HeartbeatResponse,
  isJoint,
  isVoter,
  type LogIndex,
  type NodeId,
  None,
  type Term,
} from "./Types.ts"

/** Appends entries of the current term to the leader's own log. */
export function appendLocal(r: RaftState, type: "Normal", data: Uint8Array): void
export function appendLocal(r: RaftState, type: "Config", data: Uint8Array, cfg: Config): void
export function appendLocal(r: RaftState, type: "Normal" | "Config", data: Uint8Array, cfg?: Config): void {
  assert(r.role === "Leader", "appendLocal: not leader")
  const index = (lastIndex(r.log) + 1) as LogIndex
  appendEntry(r.log, { term: r.currentTerm, index, type, data, config: cfg })
  if (type === "Config") syncProgress(r)
}

/**
 * Sends the next append (or a snapshot) to `to` if its progress allows; `sendIfEmpty` also sends
 * an append without entries (to carry the commit index or probe). Returns whether it sent.
 * @spec Raft.tla AppendEntries
 */
export function sendAppend(r: RaftState, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.progress.get(to)
  assert(pr !== undefined, "sendAppend: no progress for peer")
  if (!canSendAppend(pr, r.options.inflightCountMax)) return false
  const prevLogIndex = (pr.nextIndex - 1) as LogIndex
  const prevLogTerm = termAt(r.log, prevLogIndex)
  if (prevLogTerm === undefined) return sendSnapshot(r, to)
  const last = Math.min(lastIndex(r.log), prevLogIndex + r.options.appendEntriesCountMax) as LogIndex
  const entries = last > prevLogIndex ? sliceEntries(r.log, (prevLogIndex + 1) as LogIndex, last) : []
  if (entries.length === 0 && !sendIfEmpty) return false
  const message = {
    type: "AppendEntriesRequest" as const,
    from: r.id,
    to,
    term: r.currentTerm,
    prevLogIndex,
    prevLogTerm,
    entries,
    commitIndex: r.log.commitIndex,
  }
  sentAppend(pr, last, entries.length)
  send(r, message)
  trace(r, "AppendEntries", message)
  return true
}

/** @spec Raft.tla InstallSnapshot */
function sendSnapshot(r: RaftState, to: NodeId): boolean {
  const pr = r.progress.get(to)
  assert(pr !== undefined, "sendSnapshot: no progress for peer")
  if (!pr.recentActive) return false // do not stream a snapshot to a peer that seems down
  const snapshot = r.log.snapshot
  becomeSnapshot(pr, snapshot.meta.index)
  const message = { type: "InstallSnapshotRequest" as const, from: r.id, to, term: r.currentTerm, snapshot }
  send(r, message)
  trace(r, "InstallSnapshot", message)
  return true
}

export function broadcastAppend(r: RaftState, sendIfEmpty: boolean): void {
  for (const id of otherMembers(r)) sendAppend(r, id, sendIfEmpty)
}

/** Sends appends to `to` while the in-flight window has room and entries remain. */
function sendAppendsWhileAllowed(r: RaftState, to: NodeId): void {
  while (sendAppend(r, to, false)) {
    // Each call either sends entries (advancing nextIndex) or returns false.
  }
}

/** @spec Raft.tla HandleAppendEntriesResponse */
export function handleAppendEntriesResponse(r: RaftState, m: AppendEntriesResponse): void {
  const pr = r.progress.get(m.from)
  // Not a member any more: the response is ignored, which the spec calls losing it.
  if (pr === undefined) return trace(r, "DropMessage", m)
  pr.recentActive = true
  if (!m.success) {
    const movedBack = maybeDecrease(pr, m.matchIndex, m.hintIndex)
    trace(r, "HandleAppendEntriesResponse", m)
    if (movedBack) sendAppend(r, m.from, true)
    return
  }
  const wasPaused = pr.state !== "Replicate"
  const advanced = maybeUpdate(pr, m.matchIndex)
  if (pr.state === "Snapshot" && pr.matchIndex >= pr.pendingSnapshot) becomeProbe(pr)
  if (pr.state === "Probe") becomeReplicate(pr)
  trace(r, "HandleAppendEntriesResponse", m)
  if (advanced || wasPaused) {
    maybeCommit(r)
    if (r.role === "Leader" && r.progress.has(m.from)) sendAppendsWhileAllowed(r, m.from)
  }
  if (r.role === "Leader" && m.from === r.leadTransferee && pr.matchIndex === lastIndex(r.log)) {
    sendTimeoutNow(r, m.from)
  }
}

/** The leader's own durable last index counts as its match. */
function matchOf(r: RaftState, id: NodeId): LogIndex {
  if (id === r.id) return r.log.stableIndex
  return r.progress.get(id)?.matchIndex ?? (0 as LogIndex)
}

/**
 * Commits the highest index a quorum holds, if it is of the current term. Returns whether the
 * commit index moved (and then broadcasts it).
 * @spec Raft.tla AdvanceCommitIndex
 */
export function maybeCommit(r: RaftState): boolean {
  if (r.role !== "Leader") return false
  const n = jointCommittedIndex(config(r), (id) => matchOf(r, id), r.options.bugs)
  if (n <= r.log.commitIndex) return false
  // Only an entry of the leader's own term is committed by counting replicas (Raft §5.4.2);
  // earlier entries commit with it.
  if (termAt(r.log, n) !== r.currentTerm && !hasBug(r, "CommitOldTermEntries")) return false
  assert(n <= lastIndex(r.log), "maybeCommit: quorum index beyond the log")
  r.log.commitIndex = n
  trace(r, "AdvanceCommitIndex", undefined, { n })
  afterCommit(r)
  if (r.role === "Leader") broadcastAppend(r, true)
  return true
}

function afterCommit(r: RaftState): void {
  releaseReadsAfterCommit(r)
  const cfg = config(r)
  if (hasUncommittedConfig(r.log)) return
  if (isJoint(cfg)) {
    leaveJoint(r, cfg)
  } else if (!isVoter(cfg, r.id)) {
    // This leader was removed and its removal is committed: hand over by stepping down.
    becomeFollower(r, r.currentTerm, None)
    trace(r, "CheckQuorum")
  }
}

/** @spec Raft.tla LeaveJoint */
function leaveJoint(r: RaftState, cfg: Config): void {
  const next: Config = { voters: cfg.voters, votersOutgoing: [], learners: cfg.learners }
  appendLocal(r, "Config", new Uint8Array(), next)
  trace(r, "LeaveJoint")
}

/** @spec Raft.tla Heartbeat */
export function sendHeartbeat(r: RaftState, to: NodeId, context: number): void {
  const pr = r.progress.get(to)
  assert(pr !== undefined, "sendHeartbeat: no progress for peer")
  // Never more than the peer is known to hold, so it can always apply the commit index.
  const commitIndex = Math.min(pr.matchIndex, r.log.commitIndex) as LogIndex
  const message = { type: "HeartbeatRequest" as const, from: r.id, to, term: r.currentTerm, commitIndex, context }
  send(r, message)
  trace(r, "Heartbeat", message)
}

export function broadcastHeartbeat(r: RaftState, context: number): void {
  for (const id of otherMembers(r)) sendHeartbeat(r, id, context)
}

/** @spec Raft.tla HandleHeartbeatResponse */
export function handleHeartbeatResponse(r: RaftState, m: HeartbeatResponse): void {
  const pr = r.progress.get(m.from)
  if (pr === undefined) return trace(r, "DropMessage", m) // not a member any more: ignored
  pr.recentActive = true
  // The peer is alive: if our appends to it were lost, make room to send again (a stale
  // window would otherwise stall replication to it for good).
  pr.probeSent = false
  if (pr.state === "Replicate" && pr.inflight.length >= r.options.inflightCountMax) pr.inflight.shift()
  const confirmed = recordReadAck(r, m)
  trace(r, "HandleHeartbeatResponse", m)
  if (confirmed > 0) releaseReads(r, confirmed)
  // Behind: send what follows nextIndex, or else an empty append that probes there. If the
  // appends in flight were all lost, the peer rejects that probe and replication backs up to
  // what it holds; without it nothing is ever resent (etcd sends the same on heartbeat acks).
  if (pr.matchIndex < lastIndex(r.log)) sendAppend(r, m.from, true)
}

/** @spec Raft.tla SendTimeoutNow */
export function sendTimeoutNow(r: RaftState, to: NodeId): void {
  const message = { type: "TimeoutNowRequest" as const, from: r.id, to, term: r.currentTerm as Term }
  send(r, message)
  trace(r, "SendTimeoutNow", message)
}

/** SnapshotReport from the shell: the snapshot stream to `to` ended. */
export function reportSnapshot(r: RaftState, to: NodeId, success: boolean): void {
  const pr = r.progress.get(to)
  if (pr === undefined || pr.state !== "Snapshot") return
  if (!success) pr.pendingSnapshot = 0 as LogIndex
  becomeProbe(pr)
}
