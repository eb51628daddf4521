// step(state, input) -> { state, ready }: the one entry point of the Raft core (after
// etcd-io/raft's RawNode). The state is updated in place; the Ready says what the shell must
// persist, send and apply. See src/raft/Api.ts for the contract.
import { assert, assertNever } from "../assert.ts"
import type { Input, RaftOptions, Ready, Storage } from "./Api.ts"
import {
  handleRequestVoteRequest,
  handleRequestVoteResponse,
  handleTimeoutNowRequest,
  isCurrentVoteResponse,
  timeout,
} from "./Election.ts"
import {
  handleAppendEntriesRequest,
  handleHeartbeatRequest,
  handleInstallSnapshotRequest,
  handleStaleLeaderRequest,
} from "./Follower.ts"
import { checkRaftState } from "./Invariants.ts"
import { abortLeaderTransfer, checkQuorum, proposeConfChange, propose, transferLeader } from "./Leader.ts"
import { becomeFollower, hasBug, newRaft, type RaftState, trace } from "./Raft.ts"
import { compactTo, entryAt, lastIndex, sliceEntries, termAt } from "./RaftLog.ts"
import { readIndex } from "./ReadIndex.ts"
import {
  broadcastHeartbeat,
  handleAppendEntriesResponse,
  handleHeartbeatResponse,
  maybeCommit,
  reportSnapshot,
} from "./Replication.ts"
import type {
  AppendEntriesRequest,
  Config,
  HardState,
  HeartbeatRequest,
  LogIndex,
  Message,
  NodeId,
} from "./Types.ts"
import { None } from "./Types.ts"

export { cloneRaft, type RaftState } from "./Raft.ts"

/** A server starting from what it persisted (a fresh one starts from bootstrapStorage). */
export function restartRaft(options: RaftOptions, storage: Storage): RaftState {
  const r = newRaft(options, storage)
  if (options.verify === true) checkRaftState(r)
  return r
}

export function step(r: RaftState, input: Input): { readonly state: RaftState; readonly ready: Ready } {
  r.rejection = undefined
  stepInput(r, input)
  if (r.options.verify === true) checkRaftState(r)
  return { state: r, ready: takeReady(r) }
}

function stepInput(r: RaftState, input: Input): void {
  switch (input.type) {
    case "Tick": return tick(r)
    case "Hup": return timeout(r)
    case "Beat": return beat(r)
    case "CheckQuorum": return checkQuorum(r)
    case "Message": return stepMessage(r, input.message)
    case "Propose": return propose(r, input.data)
    case "ProposeConfChange": return proposeConfChange(r, input.changes, input.context)
    case "ReadIndex": return readIndex(r, input.context)
    case "TransferLeader": return transferLeader(r, input.target)
    case "Persisted": return persisted(r, input.index, input.term)
    case "Applied": return applied(r, input.index)
    case "CompactLog": return compactLog(r, input.index, input.data)
    case "SnapshotReport": return reportSnapshot(r, input.to, input.success)
    default: return assertNever(input, "input")
  }
}

function tick(r: RaftState): void {
  r.electionElapsedTicks += 1
  if (r.role !== "Leader") {
    if (r.electionElapsedTicks >= r.randomizedElectionTimeoutTicks) timeout(r)
    return
  }
  r.heartbeatElapsedTicks += 1
  if (r.electionElapsedTicks >= r.options.electionTimeoutTicks) {
    r.electionElapsedTicks = 0
    if (r.options.checkQuorum) checkQuorum(r)
    if (r.role === "Leader") abortLeaderTransfer(r)
  }
  if (r.role === "Leader" && r.heartbeatElapsedTicks >= r.options.heartbeatTimeoutTicks) {
    r.heartbeatElapsedTicks = 0
    beat(r)
  }
}

function beat(r: RaftState): void {
  if (r.role !== "Leader") return
  const last = r.readRequests[r.readRequests.length - 1]
  broadcastHeartbeat(r, last === undefined ? 0 : last.context)
}

/** Term handling shared by every role, then the role's handler (etcd's Step). */
function stepMessage(r: RaftState, m: Message): void {
  assert(m.to === r.id, "step: message for another server")
  if (m.term > r.currentTerm) {
    if (m.type === "RequestVoteRequest" && !m.leaderTransfer && inLeaderLease(r)) {
      return trace(r, "DropMessage", m) // a live leader exists: do not let this candidate disrupt it
    }
    // A pre-vote (or a granted answer to one) speaks of a term nobody has entered yet.
    const futureTerm = m.type === "RequestVoteRequest" ? m.preVote : m.type === "RequestVoteResponse" && m.preVote && m.voteGranted
    if (!futureTerm) updateTerm(r, m)
  } else if (m.term < r.currentTerm && !(m.type === "RequestVoteRequest" && m.preVote)) {
    if (answersStaleLeader(r, m)) return handleStaleLeaderRequest(r, m)
    return trace(r, "DropMessage", m)
  }
  if (!dispatch(r, m)) trace(r, "DropMessage", m)
}

/** @spec Raft.tla UpdateTerm */
function updateTerm(r: RaftState, m: Message): void {
  becomeFollower(r, m.term, None)
  trace(r, "UpdateTerm", m)
}

/**
 * With PreVote or CheckQuorum, a server whose term ran ahead of a working leader's is never
 * heard by it (its votes fall under the leader's lease or are only pre-votes), so it tells the
 * leader its term by answering the leader's stale requests (etcd does the same).
 */
function answersStaleLeader(r: RaftState, m: Message): m is AppendEntriesRequest | HeartbeatRequest {
  if (m.type !== "AppendEntriesRequest" && m.type !== "HeartbeatRequest") return false
  return (r.options.preVote || r.options.checkQuorum) && !hasBug(r, "StaleLeaderRequestDropped")
}

function inLeaderLease(r: RaftState): boolean {
  return r.options.checkQuorum && r.leaderId !== None && r.electionElapsedTicks < r.options.electionTimeoutTicks
}

/** Hands `m` (of a term this server accepts) to its handler; false if the role ignores it. */
function dispatch(r: RaftState, m: Message): boolean {
  switch (m.type) {
    case "RequestVoteRequest":
      handleRequestVoteRequest(r, m)
      return true
    case "RequestVoteResponse":
      if (!isCurrentVoteResponse(r, m)) return false
      handleRequestVoteResponse(r, m)
      return true
    case "AppendEntriesRequest":
    case "HeartbeatRequest":
    case "InstallSnapshotRequest":
      return stepFromLeader(r, m)
    case "AppendEntriesResponse":
      if (r.role !== "Leader") return false
      handleAppendEntriesResponse(r, m)
      return true
    case "HeartbeatResponse":
      if (r.role !== "Leader") return false
      handleHeartbeatResponse(r, m)
      return true
    case "TimeoutNowRequest":
      return r.role === "Follower" && handleTimeoutNowRequest(r, m)
    default:
      return assertNever(m, "message")
  }
}

function stepFromLeader(r: RaftState, m: Message & { type: "AppendEntriesRequest" | "HeartbeatRequest" | "InstallSnapshotRequest" }): boolean {
  assert(m.term === r.currentTerm, "stepFromLeader: term not settled")
  // Another leader in this leader's own term would break Election Safety.
  assert(r.role !== "Leader", "stepFromLeader: two leaders in one term")
  if (r.role !== "Follower") becomeFollower(r, r.currentTerm, m.from)
  if (m.type === "AppendEntriesRequest") handleAppendEntriesRequest(r, m)
  else if (m.type === "HeartbeatRequest") handleHeartbeatRequest(r, m)
  else handleInstallSnapshotRequest(r, m)
  return true
}

function persisted(r: RaftState, index: LogIndex, term: RaftState["currentTerm"]): void {
  // A report about entries that were truncated since is stale and ignored.
  if (index <= r.log.stableIndex || index >= r.log.unstableFrom) return
  if (termAt(r.log, index) !== term) return
  r.log.stableIndex = index
  maybeCommit(r)
}

function applied(r: RaftState, index: LogIndex): void {
  assert(index <= r.log.applyingIndex, "applied: beyond what was handed out")
  if (index > r.log.appliedIndex) r.log.appliedIndex = index
}

/** @spec Raft.tla CompactLog */
function compactLog(r: RaftState, index: LogIndex, data: Uint8Array): void {
  if (index <= r.log.snapshot.meta.index) return // already compacted
  const term = termAt(r.log, index)
  assert(term !== undefined, "compactLog: index outside the log")
  compactTo(r.log, { meta: { index, term, config: configAt(r, index) }, data })
  trace(r, "CompactLog", undefined, { n: index })
}

function configAt(r: RaftState, index: LogIndex): Config {
  let result = r.log.snapshot.meta.config
  for (const at of r.log.configIndexes) {
    if (at > index) break
    result = entryAt(r.log, at).config!
  }
  return result
}

function takeReady(r: RaftState): Ready {
  const log = r.log
  // Bug zoo VoteNotPersisted: a vote for another server never reaches the hard state.
  const votedFor = hasBug(r, "VoteNotPersisted") && r.votedFor !== r.id ? (None as NodeId) : r.votedFor
  const hs: HardState = { currentTerm: r.currentTerm, votedFor, commitIndex: log.commitIndex }
  const prev = r.hardStateHandedOut
  const hardStateChanged =
    hs.currentTerm !== prev.currentTerm || hs.votedFor !== prev.votedFor || hs.commitIndex !== prev.commitIndex
  const last = lastIndex(log)
  const entries = log.unstableFrom <= last ? sliceEntries(log, log.unstableFrom, last) : []
  log.unstableFrom = (last + 1) as LogIndex
  const applyLimit = hasBug(r, "ApplyUncommitted") ? last : log.commitIndex
  const committedEntries = applyLimit > log.applyingIndex ? sliceEntries(log, (log.applyingIndex + 1) as LogIndex, applyLimit) : []
  log.applyingIndex = Math.max(log.applyingIndex, applyLimit) as LogIndex
  const ready: Ready = {
    role: r.role,
    leaderId: r.leaderId,
    hardState: hardStateChanged ? hs : undefined,
    entries,
    snapshot: r.snapshotToInstall,
    messages: r.outbox,
    messagesAfterPersist: r.outboxAfterPersist,
    committedEntries,
    readStates: r.readStates,
    mustSync: entries.length > 0 || r.snapshotToInstall !== undefined ||
      hs.currentTerm !== prev.currentTerm || hs.votedFor !== prev.votedFor,
    rejection: r.rejection,
  }
  if (hardStateChanged) r.hardStateHandedOut = hs
  r.outbox = []
  r.outboxAfterPersist = []
  r.readStates = []
  r.snapshotToInstall = undefined
  return ready
}

/** Whether a Ready asks the shell for nothing. */
export function isEmptyReady(ready: Ready): boolean {
  return (
    ready.hardState === undefined &&
    ready.entries.length === 0 &&
    ready.snapshot === undefined &&
    ready.messages.length === 0 &&
    ready.messagesAfterPersist.length === 0 &&
    ready.committedEntries.length === 0 &&
    ready.readStates.length === 0
  )
}
