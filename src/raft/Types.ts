// The vocabulary of the Raft core. Names follow spec/Raft.tla (see spec/README.md for the table).
import { assert } from "../assert.ts"

/** A Raft term. Never decreases on a server. */
export type Term = number & { readonly __brand: "Term" }
/** A position in the replicated log, 1-based; 0 means "before the first entry". */
export type LogIndex = number & { readonly __brand: "LogIndex" }
/** A member ID; 0 is reserved for "none" (etcd's None). */
export type NodeId = number & { readonly __brand: "NodeId" }

export const term = (n: number): Term => {
  assert(Number.isSafeInteger(n) && n >= 0, "term must be a non-negative safe integer")
  return n as Term
}
export const logIndex = (n: number): LogIndex => {
  assert(Number.isSafeInteger(n) && n >= 0, "log index must be a non-negative safe integer")
  return n as LogIndex
}
export const nodeId = (n: number): NodeId => {
  assert(Number.isSafeInteger(n) && n >= 0, "node id must be a non-negative safe integer")
  return n as NodeId
}
export const None = 0 as NodeId

/** Server roles; PreCandidate is the PreVote phase (spec: state[i]). */
export type Role = "Follower" | "PreCandidate" | "Candidate" | "Leader"

/**
 * A cluster configuration (spec: config[i]). `votersOutgoing` is non-empty only while joint:
 * then every decision needs a majority of `voters` AND a majority of `votersOutgoing`.
 * Sets are kept as sorted arrays so that state is canonical and cheap to copy and hash.
 */
export interface Config {
  readonly voters: ReadonlyArray<NodeId>
  readonly votersOutgoing: ReadonlyArray<NodeId>
  readonly learners: ReadonlyArray<NodeId>
}

/** What a log entry carries. `Normal` entries with empty data are a new leader's no-op. */
export type EntryType = "Normal" | "Config"

export interface Entry {
  readonly term: Term
  readonly index: LogIndex
  readonly type: EntryType
  /** Application payload for Normal entries (opaque to Raft). */
  readonly data: Uint8Array
  /** The full configuration this entry switches to, for Config entries. */
  readonly config: Config | undefined
}

/** A compacted prefix of the log (spec: snapshotIndex, snapshotTerm, snapshotConfig). */
export interface SnapshotMeta {
  readonly index: LogIndex
  readonly term: Term
  readonly config: Config
}
export interface Snapshot {
  readonly meta: SnapshotMeta
  /** Application state at meta.index (opaque to Raft). */
  readonly data: Uint8Array
}

/** What must be durable before messages that depend on it are sent (etcd's HardState). */
export interface HardState {
  readonly currentTerm: Term
  readonly votedFor: NodeId
  readonly commitIndex: LogIndex
}

// ---- Messages (spec: the records in `messages`) ----

interface MessageBase {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: Term
}
export interface RequestVoteRequest extends MessageBase {
  readonly type: "RequestVoteRequest"
  readonly preVote: boolean
  readonly lastLogIndex: LogIndex
  readonly lastLogTerm: Term
  /** Set when campaigning because of TimeoutNow: voters then ignore their leader lease. */
  readonly leaderTransfer: boolean
}
export interface RequestVoteResponse extends MessageBase {
  readonly type: "RequestVoteResponse"
  readonly preVote: boolean
  readonly voteGranted: boolean
}
export interface AppendEntriesRequest extends MessageBase {
  readonly type: "AppendEntriesRequest"
  readonly prevLogIndex: LogIndex
  readonly prevLogTerm: Term
  readonly entries: ReadonlyArray<Entry>
  readonly commitIndex: LogIndex
}
export interface AppendEntriesResponse extends MessageBase {
  readonly type: "AppendEntriesResponse"
  readonly success: boolean
  /** On success: the last index now known to match the leader. On failure: the rejected prevLogIndex. */
  readonly matchIndex: LogIndex
  /** On failure: the follower's last index, a hint for where to probe next. */
  readonly hintIndex: LogIndex
}
export interface HeartbeatRequest extends MessageBase {
  readonly type: "HeartbeatRequest"
  /** min(leader's commitIndex, matchIndex of the receiver): never past what the receiver holds. */
  readonly commitIndex: LogIndex
  /** ReadIndex round this heartbeat confirms leadership for (0: none). */
  readonly context: number
}
export interface HeartbeatResponse extends MessageBase {
  readonly type: "HeartbeatResponse"
  readonly context: number
}
export interface InstallSnapshotRequest extends MessageBase {
  readonly type: "InstallSnapshotRequest"
  readonly snapshot: Snapshot
}
export interface TimeoutNowRequest extends MessageBase {
  readonly type: "TimeoutNowRequest"
}

export type Message =
  | RequestVoteRequest
  | RequestVoteResponse
  | AppendEntriesRequest
  | AppendEntriesResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | InstallSnapshotRequest
  | TimeoutNowRequest

export type MessageType = Message["type"]

/** A ReadIndex answer: reads for `context` may be served once `index` is applied locally. */
export interface ReadState {
  readonly context: number
  readonly index: LogIndex
}

export function configMembers(config: Config): NodeId[] {
  const all = new Set<NodeId>([...config.voters, ...config.votersOutgoing, ...config.learners])
  return [...all].sort((a, b) => a - b)
}

export function isVoter(config: Config, id: NodeId): boolean {
  return config.voters.includes(id) || config.votersOutgoing.includes(id)
}

export function isJoint(config: Config): boolean {
  return config.votersOutgoing.length > 0
}

export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...new Set(ids)].sort((a, b) => a - b)
}
