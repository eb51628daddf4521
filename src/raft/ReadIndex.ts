// ReadIndex: a leader answers a linearizable read with its commit index once a quorum has
// confirmed, after the read arrived, that it is still the leader (Raft dissertation §6.4).
import {
  broadcastHeartbeat,
} from "./Replication.ts"
import { hasBug, quorumOf, type RaftState, reject, trace } from "./Raft.ts"
import { termAt } from "./RaftLog.ts"
import { readRequestCountMax } from "./ReadOnly.ts"
import type { HeartbeatResponse } from "./Types.ts"

/** @spec Raft.tla ReadIndex */
export function readIndex(r: RaftState, context: number): void {
  if (r.role !== "Leader") return reject(r, "NotLeader")
  if (r.readRequests.length + r.postponedReadContexts.length >= readRequestCountMax) {
    return reject(r, "ReadIndexQueueFull")
  }
  // Until an entry of its own term commits, a new leader's commitIndex may be behind what its
  // predecessor committed; a read served from it could miss an acknowledged write.
  const ownTermCommitted = termAt(r.log, r.log.commitIndex) === r.currentTerm
  if (!ownTermCommitted && !hasBug(r, "ReadIndexBeforeOwnTermCommit")) {
    r.postponedReadContexts.push(context)
    return
  }
  acceptRead(r, context)
}

function acceptRead(r: RaftState, context: number): void {
  const request = { context, index: r.log.commitIndex, acks: new Set([r.id]) }
  r.readRequests.push(request)
  trace(r, "ReadIndex", undefined, { context })
  if (quorumOf(r, request.acks)) releaseReads(r, r.readRequests.length)
  else broadcastHeartbeat(r, context)
}

/** Starts the reads that waited for this leader's first commit in its term. */
export function releaseReadsAfterCommit(r: RaftState): void {
  if (r.postponedReadContexts.length === 0) return
  if (termAt(r.log, r.log.commitIndex) !== r.currentTerm) return
  const contexts = r.postponedReadContexts
  r.postponedReadContexts = []
  for (const context of contexts) acceptRead(r, context)
}

/**
 * Counts a heartbeat ack toward the read round it confirms. Returns how many of the oldest
 * pending reads are now confirmed (0 if none).
 */
export function recordReadAck(r: RaftState, m: HeartbeatResponse): number {
  const anyRound = hasBug(r, "ReadIndexIgnoresContext")
  if (m.context === 0 && !anyRound) return 0
  let confirmed = 0
  r.readRequests.forEach((request, k) => {
    if (request.context === m.context || anyRound) request.acks.add(m.from)
    if (quorumOf(r, request.acks)) confirmed = k + 1
  })
  return confirmed
}

/** Answers the oldest `count` reads. @spec Raft.tla ReleaseReadIndex */
export function releaseReads(r: RaftState, count: number): void {
  const released = r.readRequests.splice(0, count)
  for (const request of released) r.readStates.push({ context: request.context, index: request.index })
  trace(r, "ReleaseReadIndex", undefined, { k: count })
}
