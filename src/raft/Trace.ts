// Trace events: one per spec action the core takes, named after spec/Raft.tla and carrying the
// spec's variables for the acting server after the action. Emitted only when RaftOptions.trace
// is set (the check `if (r.options.trace !== undefined)` keeps the off path allocation-free).
import type { Config, Entry, LogIndex, Message, NodeId, Role, Term } from "./Types.ts"

export type SpecAction =
  | "Timeout"
  | "BecomeCandidate"
  | "BecomeLeader"
  | "UpdateTerm"
  | "HandleRequestVoteRequest"
  | "HandleRequestVoteResponse"
  | "ClientRequest"
  | "ChangeConfig"
  | "LeaveJoint"
  | "AppendEntries"
  | "HandleAppendEntriesRequest"
  | "HandleAppendEntriesResponse"
  | "HandleStaleLeaderRequest"
  | "AdvanceCommitIndex"
  | "Heartbeat"
  | "HandleHeartbeatRequest"
  | "HandleHeartbeatResponse"
  | "ReadIndex"
  | "ReleaseReadIndex"
  | "TransferLeader"
  | "SendTimeoutNow"
  | "AbortLeaderTransfer"
  | "HandleTimeoutNowRequest"
  | "CheckQuorum"
  | "CompactLog"
  | "InstallSnapshot"
  | "HandleInstallSnapshotRequest"
  | "DropMessage"

/** The spec variables of one server, as traced. */
export interface TracedState {
  readonly currentTerm: Term
  readonly state: Role
  readonly votedFor: NodeId
  readonly leaderId: NodeId
  readonly commitIndex: LogIndex
  readonly snapshotIndex: LogIndex
  readonly snapshotTerm: Term
  readonly log: ReadonlyArray<Entry>
  readonly config: Config
}

export interface TraceEvent {
  readonly action: SpecAction
  readonly server: NodeId
  /** The message received (Handle*, UpdateTerm, DropMessage) or sent (AppendEntries, Heartbeat, ...). */
  readonly message: Message | undefined
  /** Action parameters the message does not carry (AdvanceCommitIndex n, ReadIndex context, ...). */
  readonly params: Readonly<Record<string, number>> | undefined
  /** The answer a request handler sent (Handle*Request), so validation checks it at this step. */
  readonly reply: Message | undefined
  readonly state: TracedState
}
