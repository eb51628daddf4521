// The state of one Raft server, its role transitions and the helpers every role uses.
// Role changes go through the becomeX functions only; handlers live in Step*.ts.
import { assert } from "../assert.ts"
import type { Rejection, RaftOptions, Storage } from "./Api.ts"
import type { BugName } from "./Bugs.ts"
import { nextRandom } from "./Prng.ts"
import { isQuorum, jointVoteResult } from "./quorum/Joint.ts"
import type { VoteResult } from "./quorum/Majority.ts"
import {
  appendEntry,
  cloneRaftLog,
  currentConfig,
  lastIndex,
  lastTerm,
  newRaftLog,
  type RaftLog,
} from "./RaftLog.ts"
import { cloneReadRequests, type ReadRequest } from "./ReadOnly.ts"
import type { SpecAction } from "./Trace.ts"
import { cloneProgress, newProgress, type Progress } from "./tracker/Progress.ts"
import {
  type Config,
  configMembers,
  type HardState,
  isVoter,
  type LogIndex,
  type Message,
  type NodeId,
  None,
  type ReadState,
  type Role,
  type Snapshot,
  type Term,
} from "./Types.ts"

export interface RaftState {
  readonly options: RaftOptions
  readonly id: NodeId
  /** Latest term seen; never decreases (spec: currentTerm). */
  currentTerm: Term
  /** Candidate voted for in currentTerm, or None (spec: votedFor). */
  votedFor: NodeId
  role: Role
  /** Leader of currentTerm as far as this server knows, or None (spec: leaderId). */
  leaderId: NodeId
  log: RaftLog
  /** Election tally of the current (pre-)campaign: voter -> granted (spec: votesResponded/Granted). */
  votes: Map<NodeId, boolean>
  /** Leader only: every other member's replication progress (spec: matchIndex[i]). */
  progress: Map<NodeId, Progress>
  /** Leader only: ReadIndex rounds awaiting a quorum of heartbeat acks (spec: readRequests). */
  readRequests: ReadRequest[]
  /** Leader only: reads that arrived before an entry of this term committed. */
  postponedReadContexts: number[]
  /** Leader only: voter this leader is handing leadership to, or None (spec: leadTransferee). */
  leadTransferee: NodeId
  electionElapsedTicks: number
  heartbeatElapsedTicks: number
  randomizedElectionTimeoutTicks: number
  prngState: number
  // ---- Ready bookkeeping: what this step produced for the shell ----
  /** The hard state last handed out for persisting. */
  hardStateHandedOut: HardState
  outbox: Message[]
  outboxAfterPersist: Message[]
  readStates: ReadState[]
  snapshotToInstall: Snapshot | undefined
  rejection: Rejection | undefined
}

export function newRaft(options: RaftOptions, storage: Storage): RaftState {
  assert(options.id !== None, "raft: id must not be None")
  assert(options.heartbeatTimeoutTicks > 0, "raft: heartbeat timeout must be positive")
  assert(
    options.heartbeatTimeoutTicks < options.electionTimeoutTicks,
    "raft: heartbeat timeout must be shorter than the election timeout",
  )
  assert(options.appendEntriesCountMax > 0, "raft: appendEntriesCountMax must be positive")
  assert(options.inflightCountMax > 0, "raft: inflightCountMax must be positive")
  const hs = storage.hardState
  const r: RaftState = {
    options,
    id: options.id,
    currentTerm: hs.currentTerm,
    votedFor: hs.votedFor,
    role: "Follower",
    leaderId: None,
    log: newRaftLog(storage.snapshot, storage.entries, hs.commitIndex),
    votes: new Map(),
    progress: new Map(),
    readRequests: [],
    postponedReadContexts: [],
    leadTransferee: None,
    electionElapsedTicks: 0,
    heartbeatElapsedTicks: 0,
    randomizedElectionTimeoutTicks: options.electionTimeoutTicks,
    prngState: options.seed >>> 0,
    hardStateHandedOut: hs,
    outbox: [],
    outboxAfterPersist: [],
    readStates: [],
    snapshotToInstall: undefined,
    rejection: undefined,
  }
  resetRandomizedElectionTimeout(r)
  return r
}

/** A deep copy for the model checker; entries and snapshots are immutable and shared. */
export function cloneRaft(r: RaftState): RaftState {
  const progress = new Map<NodeId, Progress>()
  for (const [id, p] of r.progress) progress.set(id, cloneProgress(p))
  return {
    ...r,
    log: cloneRaftLog(r.log),
    votes: new Map(r.votes),
    progress,
    readRequests: cloneReadRequests(r.readRequests),
    postponedReadContexts: r.postponedReadContexts.slice(),
    outbox: r.outbox.slice(),
    outboxAfterPersist: r.outboxAfterPersist.slice(),
    readStates: r.readStates.slice(),
  }
}

export const hasBug = (r: RaftState, bug: BugName): boolean => r.options.bugs?.has(bug) === true

export const config = (r: RaftState): Config => currentConfig(r.log)

/** Whether this server may campaign: a voter of the configuration in force. */
export const isPromotable = (r: RaftState): boolean => isVoter(config(r), r.id)

export function quorumOf(r: RaftState, ids: ReadonlySet<NodeId>): boolean {
  return isQuorum(config(r), ids, r.options.bugs)
}

export function voteResult(r: RaftState): VoteResult {
  return jointVoteResult(config(r), (id) => r.votes.get(id), r.options.bugs)
}

/** Voters of the configuration in force, other than this server, ascending. */
export function otherVoters(r: RaftState): NodeId[] {
  const c = config(r)
  return configMembers(c).filter((id) => id !== r.id && isVoter(c, id))
}

/** Members (voters and learners) other than this server, ascending. */
export function otherMembers(r: RaftState): NodeId[] {
  return configMembers(config(r)).filter((id) => id !== r.id)
}

function resetRandomizedElectionTimeout(r: RaftState): void {
  const { value, state } = nextRandom(r.prngState)
  r.prngState = state
  const timeout = r.options.electionTimeoutTicks
  r.randomizedElectionTimeoutTicks = timeout + (value % timeout)
}

/** Clears per-term volatile state; a new term also clears the vote. */
function reset(r: RaftState, term: Term): void {
  assert(term >= r.currentTerm, "raft: term must not go backwards")
  if (term !== r.currentTerm) {
    r.currentTerm = term
    r.votedFor = None
  }
  r.leaderId = None
  r.electionElapsedTicks = 0
  r.heartbeatElapsedTicks = 0
  resetRandomizedElectionTimeout(r)
  r.votes = new Map()
  r.progress = new Map()
  r.readRequests = []
  r.postponedReadContexts = []
  r.leadTransferee = None
}

export function becomeFollower(r: RaftState, term: Term, leaderId: NodeId): void {
  reset(r, term)
  r.role = "Follower"
  r.leaderId = leaderId
}

export function becomePreCandidate(r: RaftState): void {
  assert(r.role !== "Leader", "raft: a leader cannot become a pre-candidate")
  // The pre-vote runs at the next term without entering it: a node that cannot win an
  // election never raises its term and so never disrupts a working leader.
  r.role = "PreCandidate"
  r.leaderId = None
  r.votes = new Map([[r.id, true]])
  r.electionElapsedTicks = 0
  resetRandomizedElectionTimeout(r)
}

export function becomeCandidate(r: RaftState): void {
  assert(r.role !== "Leader", "raft: a leader cannot become a candidate")
  reset(r, (r.currentTerm + 1) as Term)
  r.role = "Candidate"
  r.votedFor = r.id
  r.votes = new Map([[r.id, true]])
}

export function becomeLeader(r: RaftState): void {
  assert(r.role === "Candidate", "raft: only a candidate can become leader")
  assert(voteResult(r) === "Won", "raft: becoming leader without a quorum of votes")
  const term = r.currentTerm
  reset(r, term)
  r.role = "Leader"
  r.leaderId = r.id
  const next = (lastIndex(r.log) + 1) as LogIndex
  for (const id of otherMembers(r)) r.progress.set(id, newProgress(next))
  // A no-op of the new term: committing it commits everything before it (the commit rule only
  // counts entries of the leader's own term) and lets ReadIndex and config changes proceed.
  appendEntry(r.log, { term, index: next, type: "Normal", data: new Uint8Array(), config: undefined })
}

/** Adds progress for new members and drops it for removed ones (after a Config entry). */
export function syncProgress(r: RaftState): void {
  const members = new Set(otherMembers(r))
  const next = (lastIndex(r.log) + 1) as LogIndex
  for (const id of members) if (!r.progress.has(id)) r.progress.set(id, newProgress(next))
  for (const id of [...r.progress.keys()]) if (!members.has(id)) r.progress.delete(id)
}

const sendsBeforePersist = new Set<Message["type"]>([
  "AppendEntriesRequest",
  "HeartbeatRequest",
  "InstallSnapshotRequest",
  "TimeoutNowRequest",
])

export function send(r: RaftState, message: Message): void {
  assert(message.from === r.id, "send: message not from this server")
  assert(message.to !== r.id, "send: message to self")
  // A leader's replication traffic may leave while its own write is in flight; votes and
  // acknowledgements promise durable state and must wait for the fsync.
  if (sendsBeforePersist.has(message.type)) r.outbox.push(message)
  else r.outboxAfterPersist.push(message)
}

export function requestVotes(r: RaftState, preVote: boolean, leaderTransfer: boolean): void {
  const term = (preVote ? r.currentTerm + 1 : r.currentTerm) as Term
  for (const to of otherVoters(r)) {
    send(r, {
      type: "RequestVoteRequest",
      from: r.id,
      to,
      term,
      preVote,
      lastLogIndex: lastIndex(r.log),
      lastLogTerm: lastTerm(r.log),
      leaderTransfer,
    })
  }
}

export function trace(
  r: RaftState,
  action: SpecAction,
  message?: Message,
  params?: Readonly<Record<string, number>>,
  reply?: Message,
): void {
  const sink = r.options.trace
  if (sink === undefined) return
  sink({
    action,
    server: r.id,
    message,
    params,
    reply,
    state: {
      currentTerm: r.currentTerm,
      state: r.role,
      votedFor: r.votedFor,
      leaderId: r.leaderId,
      commitIndex: r.log.commitIndex,
      snapshotIndex: r.log.snapshot.meta.index,
      snapshotTerm: r.log.snapshot.meta.term,
      log: r.log.entries.slice(),
      config: config(r),
    },
  })
}

export function reject(r: RaftState, why: Rejection): void {
  r.rejection = why
}
