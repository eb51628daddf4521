// Requests only a leader serves: proposals, configuration changes, leader transfer, and the
// CheckQuorum lease check.
import type { ConfChange } from "./Api.ts"
import {
  becomeFollower,
  config,
  hasBug,
  quorumOf,
  type RaftState,
  reject,
  trace,
} from "./Raft.ts"
import { appendLocal, broadcastAppend, sendAppend, sendTimeoutNow } from "./Replication.ts"
import { hasUncommittedConfig, lastIndex, termAt } from "./RaftLog.ts"
import { type Config, isJoint, isVoter, type NodeId, None, sortedIds } from "./Types.ts"

/** @spec Raft.tla ClientRequest */
export function propose(r: RaftState, data: ReadonlyArray<Uint8Array>): void {
  if (r.role !== "Leader") return reject(r, "NotLeader")
  if (r.leadTransferee !== None) return reject(r, "LeaderTransferInProgress")
  for (const item of data) {
    appendLocal(r, "Normal", item)
    trace(r, "ClientRequest")
  }
  broadcastAppend(r, false)
}

/** The configuration `changes` lead to from `current` (not validated). */
export function applyChanges(current: Config, changes: ReadonlyArray<ConfChange>): Config {
  const voters = new Set(current.voters)
  const learners = new Set(current.learners)
  for (const change of changes) {
    voters.delete(change.id)
    learners.delete(change.id)
    if (change.type === "AddVoter") voters.add(change.id)
    if (change.type === "AddLearner") learners.add(change.id)
  }
  return { voters: sortedIds(voters), votersOutgoing: [], learners: sortedIds(learners) }
}

/**
 * Appends the Config entry for `changes`: a joint configuration if the voters change (both the
 * old and the new voters must agree until it commits), else the new configuration directly.
 * @spec Raft.tla ChangeConfig
 */
export function proposeConfChange(r: RaftState, changes: ReadonlyArray<ConfChange>, context: Uint8Array = new Uint8Array()): void {
  if (r.role !== "Leader") return reject(r, "NotLeader")
  if (r.leadTransferee !== None) return reject(r, "LeaderTransferInProgress")
  const current = config(r)
  const pending = isJoint(current) || hasUncommittedConfig(r.log)
  // A leader that has not committed in its term may hold an uncommitted Config entry of a
  // predecessor that it does not yet know about as such; wait for its own no-op to commit.
  const settled = termAt(r.log, r.log.commitIndex) === r.currentTerm
  if ((pending || !settled) && !hasBug(r, "ConfChangeWhilePending")) return reject(r, "ConfChangePending")
  const target = applyChanges(current, changes)
  if (target.voters.length === 0) return reject(r, "InvalidConfChange")
  const votersChange = target.voters.join() !== current.voters.join()
  const next: Config = votersChange ? { ...target, votersOutgoing: current.voters } : target
  appendLocal(r, "Config", context, next)
  trace(r, "ChangeConfig")
  broadcastAppend(r, false)
}

/** @spec Raft.tla TransferLeader */
export function transferLeader(r: RaftState, target: NodeId): void {
  if (r.role !== "Leader") return reject(r, "NotLeader")
  if (target === r.id || !isVoter(config(r), target)) return reject(r, "TransferTargetInvalid")
  if (r.leadTransferee === target) return
  r.leadTransferee = target
  // The transfer is abandoned if it does not finish within an election timeout.
  r.electionElapsedTicks = 0
  trace(r, "TransferLeader", undefined, { target })
  const pr = r.progress.get(target)
  if (pr !== undefined && pr.matchIndex === lastIndex(r.log)) sendTimeoutNow(r, target)
  else sendAppend(r, target, true)
}

/** @spec Raft.tla AbortLeaderTransfer */
export function abortLeaderTransfer(r: RaftState): void {
  if (r.leadTransferee === None) return
  r.leadTransferee = None
  trace(r, "AbortLeaderTransfer")
}

/**
 * Steps down unless a quorum was heard from since the last check, so that a partitioned leader
 * stops serving and its followers' leases lapse for a new election.
 * @spec Raft.tla CheckQuorum
 */
export function checkQuorum(r: RaftState): void {
  if (r.role !== "Leader") return
  const active = new Set<NodeId>([r.id])
  for (const [id, pr] of r.progress) {
    if (pr.recentActive) active.add(id)
    pr.recentActive = false
  }
  if (quorumOf(r, active)) return
  becomeFollower(r, r.currentTerm, None)
  trace(r, "CheckQuorum")
}
