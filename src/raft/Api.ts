// The Ready contract (after etcd-io/raft's RawNode): inputs in, one Ready out per step.
import type {
  Config,
  Entry,
  HardState,
  LogIndex,
  Message,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  Term,
} from "./Types.ts"
import type { BugName } from "./Bugs.ts"
import type { TraceEvent } from "./Trace.ts"

/** A membership change requested by the application (etcd's ConfChangeV2 in spirit). */
export type ConfChange =
  | { readonly type: "AddVoter"; readonly id: NodeId }
  | { readonly type: "AddLearner"; readonly id: NodeId }
  | { readonly type: "RemoveNode"; readonly id: NodeId }

export type Input =
  /** One unit of logical time; the shell turns its clock into ticks. */
  | { readonly type: "Tick" }
  /** Election timeout now (etcd's MsgHup): what Tick raises when the randomized timeout passes. */
  | { readonly type: "Hup" }
  /** Heartbeat timeout now (etcd's MsgBeat): leaders send heartbeats. */
  | { readonly type: "Beat" }
  /** Leader lease check now (etcd's MsgCheckQuorum): step down unless a quorum was recently active. */
  | { readonly type: "CheckQuorum" }
  | { readonly type: "Message"; readonly message: Message }
  | { readonly type: "Propose"; readonly data: ReadonlyArray<Uint8Array> }
  /** `context` rides in the Config entry's data, opaque to Raft (the server puts member details there). */
  | { readonly type: "ProposeConfChange"; readonly changes: ReadonlyArray<ConfChange>; readonly context?: Uint8Array }
  | { readonly type: "ReadIndex"; readonly context: number }
  | { readonly type: "TransferLeader"; readonly target: NodeId }
  /** Entries up to `index` (whose entry has `term`) are durable. Stale reports are ignored. */
  | { readonly type: "Persisted"; readonly index: LogIndex; readonly term: Term }
  /** The application applied committed entries up to `index`. */
  | { readonly type: "Applied"; readonly index: LogIndex }
  /** The application saved a snapshot of its state at `index` (<= applied); compact the log. */
  | { readonly type: "CompactLog"; readonly index: LogIndex; readonly data: Uint8Array }
  /** Sending a snapshot to `to` finished (or failed). */
  | { readonly type: "SnapshotReport"; readonly to: NodeId; readonly success: boolean }

export type InputType = Input["type"]

/** Why a request was not taken (like etcd's ErrProposalDropped); a value, not an exception. */
export type Rejection =
  | "NotLeader"
  | "LeaderTransferInProgress"
  | "ConfChangePending"
  | "InvalidConfChange"
  | "TransferTargetInvalid"
  | "ReadIndexQueueFull"

export interface Ready {
  /** Role and leader as this node sees them (etcd's SoftState); for the shell, not persisted. */
  readonly role: Role
  readonly leaderId: NodeId
  /** Changed hard state to persist, or undefined. */
  readonly hardState: HardState | undefined
  /** Entries to append; if entries[0].index is at or below the last written index, truncate there first. */
  readonly entries: ReadonlyArray<Entry>
  /** A snapshot received from the leader: persist it and restore the application from it. */
  readonly snapshot: Snapshot | undefined
  /** Messages that may leave before this Ready is durable (a leader's replication traffic). */
  readonly messages: ReadonlyArray<Message>
  /** Messages that must wait until hardState, entries and snapshot are durable (votes, acks). */
  readonly messagesAfterPersist: ReadonlyArray<Message>
  /** Committed entries to apply, in order, after this Ready's writes are durable. */
  readonly committedEntries: ReadonlyArray<Entry>
  /** ReadIndex answers released by this step. */
  readonly readStates: ReadonlyArray<ReadState>
  /** Whether the writes of this Ready need an fsync before the dependent messages go out. */
  readonly mustSync: boolean
  /** Why this step's request was refused, if it was. */
  readonly rejection: Rejection | undefined
}

export interface RaftOptions {
  readonly id: NodeId
  /** Ticks without a leader's word before a follower campaigns (randomized in [t, 2t)). */
  readonly electionTimeoutTicks: number
  readonly heartbeatTimeoutTicks: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  /** Most entries in one AppendEntries request. */
  readonly appendEntriesCountMax: number
  /** Most AppendEntries requests in flight to one follower (pipelining window). */
  readonly inflightCountMax: number
  /** Seed of the generator that picks randomized election timeouts. */
  readonly seed: number
  /** Bugs switched on for the model checker's bug zoo; empty in production. */
  readonly bugs?: ReadonlySet<BugName>
  /** Receives one event per spec action taken; undefined (the default) costs nothing. */
  readonly trace?: (event: TraceEvent) => void
  /** Run O(n) invariant checks after every step (tests and the model checker set this). */
  readonly verify?: boolean
}

/** What survives a crash: exactly what the shell made durable from earlier Readies. */
export interface Storage {
  readonly hardState: HardState
  readonly snapshot: Snapshot
  /** Entries after snapshot.meta.index, contiguous. */
  readonly entries: ReadonlyArray<Entry>
}

export function bootstrapStorage(config: Config): Storage {
  return {
    hardState: { currentTerm: 0 as Term, votedFor: 0 as NodeId, commitIndex: 0 as LogIndex },
    snapshot: { meta: { index: 0 as LogIndex, term: 0 as Term, config }, data: new Uint8Array() },
    entries: [],
  }
}
