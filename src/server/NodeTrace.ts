// What the node loop does around the pure core, as events for trace validation: when a save
// became durable, which messages left and when, what was applied and answered. Together with the
// core's own spec-action events (RaftOptions.trace) they let a validator check the Raft contract
// the core cannot check itself: votes and acks leave only after the state they promise is on
// disk, and nothing is applied or answered before it is durable here.
import type { HardState, LogIndex, Message, NodeId, Term } from "../raft/Types.ts"

export type NodeLoopEvent =
  /** A save returned: durable when `sync` (fdatasync), otherwise only written. */
  | {
    readonly kind: "Saved"
    readonly node: NodeId
    readonly hardState: HardState | undefined
    /** The first and last entries written (none if only the hard state changed). */
    readonly firstIndex: LogIndex | undefined
    readonly lastIndex: LogIndex | undefined
    readonly lastTerm: Term | undefined
    readonly sync: boolean
  }
  /** A snapshot file is durable: a compaction of our own, or one installed from the leader. */
  | { readonly kind: "SnapshotSaved"; readonly node: NodeId; readonly index: LogIndex; readonly term: Term; readonly installed: boolean }
  /** Messages handed to the transport: `afterPersist` ones wait for the Ready's save (votes, acks). */
  | { readonly kind: "Sent"; readonly node: NodeId; readonly messages: ReadonlyArray<Message>; readonly afterPersist: boolean }
  /** A committed entry applied to the state machine. */
  | { readonly kind: "Applied"; readonly node: NodeId; readonly index: LogIndex; readonly term: Term }
  /** A client's proposal answered (its entry was applied here). */
  | { readonly kind: "Answered"; readonly node: NodeId; readonly requestId: bigint; readonly index: LogIndex }

/**
 * Deliberate node-loop bugs, switched on only by tests and the simulator, so that trace
 * validation can be shown to catch them. Production passes none.
 */
export const NODE_LOOP_BUGS = {
  SendBeforePersist: "votes and append acks are sent before the Ready's hard state and entries are saved",
  ApplyBeforePersist: "committed entries are applied (and clients answered) before the Ready's save is durable",
  SaveWithoutSync: "a Ready that must be synced is written without fdatasync",
} as const

export type NodeLoopBug = keyof typeof NODE_LOOP_BUGS

export function isNodeLoopBug(name: string): name is NodeLoopBug {
  return Object.hasOwn(NODE_LOOP_BUGS, name)
}
