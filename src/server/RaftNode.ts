// One node: drives the pure Raft and KV cores with the platform's storage and transport.
//
// Everything that arrived during one event-loop turn becomes one batch: a single Propose input
// for all new requests, a single ReadIndex for all waiting reads, then one storage write and one
// fdatasync for the whole Ready (group commit). A client's answer leaves only after its entry is
// durable and applied. The order per Ready is the Raft contract: send the leader's replication
// traffic, persist, send what had to wait for durability (votes, acks), apply.
import { randomInt } from "node:crypto"
import { assert } from "../assert.ts"
import type { Event } from "../kv/Api.ts"
import type { ConfChange, Input, RaftOptions, Ready, Rejection, Storage } from "../raft/Api.ts"
import { lastIndex } from "../raft/RaftLog.ts"
import { isEmptyReady, restartRaft, step, type RaftState } from "../raft/RawNode.ts"
import type { TraceEvent } from "../raft/Trace.ts"
import { None, type Config, type Entry, type HardState, type LogIndex, type Message, type NodeId, type InstallSnapshotRequest, type Snapshot, type SnapshotMeta, type Term } from "../raft/Types.ts"
import type { NodeLoopBug, NodeLoopEvent } from "./NodeTrace.ts"
import { WaiterMap } from "./Waiters.ts"

/** Durable state behind the node (the WAL and snapshot files, or a simulated disk). */
export interface NodeStorage {
  /** Appends hard state and entries (entries[0] may replace a suffix); resolves once durable if `sync`. */
  save(hardState: HardState | undefined, entries: ReadonlyArray<Entry>, sync: boolean): Promise<void>
  /**
   * Makes a snapshot durable: our own for compaction (the log after it stays), or one `installed`
   * from the leader (it replaces the whole log).
   */
  saveSnapshot(snapshot: Snapshot, installed: boolean): Promise<void>
  /**
   * The bytes of a snapshot saved here, read back (optional). A storage that can do this spares
   * the node from keeping the newest snapshot's bytes in memory (see SNAPSHOT_BYTES_ON_DISK).
   * Rejects if the file is gone or damaged (the node then stops): the newest is never pruned.
   */
  readSnapshotData?(meta: SnapshotMeta): Promise<Uint8Array>
}

/**
 * What the Raft core holds as the data of a snapshot whose bytes stay on disk. The core only
 * passes snapshot data along (in InstallSnapshotRequest), so the node swaps the real bytes in
 * when it sends one: a member does not keep a second copy of its whole store in memory for a
 * follower that may never need it (etcd streams its snapshot from disk too). A snapshot from the
 * leader reaches the core with the placeholder as well; the node keeps the bytes aside for the
 * turn that installs it (saved, then restored into the state machine).
 */
const SNAPSHOT_BYTES_ON_DISK = new Uint8Array(0)

function isSnapshotOnDisk(message: Message): message is InstallSnapshotRequest {
  return message.type === "InstallSnapshotRequest" && message.snapshot.data === SNAPSHOT_BYTES_ON_DISK
}

/** A traced core's snapshots whose bytes the node keeps for its trace events (the newest few). */
const TRACED_SNAPSHOTS_KEPT = 8

const snapshotKey = (meta: SnapshotMeta): string => `${meta.index}/${meta.term}`

export interface NodeTransport {
  send(messages: ReadonlyArray<Message>): void
  /** A follower hands its clients' proposals to the leader (their waiters stay here). */
  forwardProposals(leader: NodeId, datas: ReadonlyArray<Uint8Array>): void
  /** A follower asks the leader for a read index; the answer comes back via readIndexAnswered. */
  requestReadIndex(leader: NodeId, context: number): void
  answerReadIndex(to: NodeId, context: number, index: LogIndex): void
}

/**
 * The replicated state machine the node applies committed entries to. The node loop knows
 * nothing of payloads: the machine decodes each entry and names the request it answers.
 */
export interface StateMachine {
  /** Applies a Normal entry with data, or a Config entry (its data is the change's context). */
  applyEntry(entry: Entry): Applied
  /** The state at the last applied index, for snapshots. */
  snapshot(): Uint8Array
  restore(data: Uint8Array): void
}

export interface Applied {
  /** The proposing node's request ID, if the entry carried one: its waiter gets `result`. */
  readonly requestId: bigint | undefined
  readonly result: unknown
  readonly events: ReadonlyArray<Event>
}

export interface RaftNodeOptions {
  readonly raft: RaftOptions
  /** Take a snapshot and compact the log after this many applied entries. */
  readonly snapshotCount: number
  /** How long a proposal or read may wait before it fails (etcd: 5 s + 2 election timeouts). */
  readonly requestTimeoutMs: number
  readonly nowMs: () => number
  /** Runs the next turn later (default setImmediate; the simulator passes its own scheduler). */
  readonly defer?: (run: () => void) => void
  /** Where request IDs start (default random); the simulator passes one drawn from its seed. */
  readonly requestIdStart?: bigint
  /**
   * Where ReadIndex contexts come from (default a counter from 1). Contexts only need to be
   * unique per leader, but spec/Raft.tla wants them unique in the whole run (and TLC's integers
   * are 32-bit): the simulator passes one counter shared by every member and incarnation.
   */
  readonly newReadContext?: () => number
  /** Node-loop events for trace validation; off (undefined) in production. */
  readonly trace?: (event: NodeLoopEvent) => void
  /** Planted node-loop bugs (tests and the simulator only). */
  readonly bugs?: ReadonlySet<NodeLoopBug>
}

export class RequestTimeoutError extends Error {
  constructor() {
    super("etcdserver: request timed out")
  }
}

/** The leader refused a membership change (not leader, one already pending, ...). */
export class ConfChangeRejectedError extends Error {
  readonly rejection: Rejection
  constructor(rejection: Rejection) {
    super(`membership change refused: ${rejection}`)
    this.rejection = rejection
  }
}

interface PendingRead {
  readonly index: LogIndex
  readonly resolve: () => void
}

export class RaftNode {
  private raft: RaftState
  private readonly inputs: Array<Input> = []
  private proposals: Array<Uint8Array> = []
  /** Proposals refused because no leader was known; re-proposed when one is. */
  private parked: Array<Uint8Array> = []
  private readonly proposalWaiters = new WaiterMap<bigint, unknown>()
  private readWaiters: Array<() => void> = []
  private readonly readBatches = new Map<number, Array<() => void>>()
  private readonly readFailures = new WaiterMap<number, void>()
  private pendingReads: Array<PendingRead> = []
  private nextReadContext = 1
  private nextRequestId: bigint
  private scheduled = false
  private running = false
  private stopped = false
  private snapshotIndex: LogIndex
  private appliedTerm: Term
  /** The configuration as of appliedIndex (a snapshot must carry this one, not a newer one). */
  private appliedConfig: Config
  appliedIndex: LogIndex
  role: Ready["role"] = "Follower"
  leaderId: NodeId
  failure: Error | undefined = undefined
  /** Called after each applied command that changed the store, with the revision's events. */
  onEvents: (events: ReadonlyArray<Event>) => void = () => {}
  /** Called when the node stops because of an error it cannot survive (a failed fsync). */
  onFatal: (error: Error) => void = () => {}
  /** Called after a snapshot from the leader replaced the log and the state (for the log). */
  onSnapshotInstalled: (index: LogIndex) => void = () => {}

  private readonly options: RaftNodeOptions
  private readonly storage: NodeStorage
  private readonly transport: NodeTransport
  private readonly machine: StateMachine
  private readonly defer: (run: () => void) => void
  private readonly trace: ((event: NodeLoopEvent) => void) | undefined
  private readonly bugs: ReadonlySet<NodeLoopBug>
  /** The core holds SNAPSHOT_BYTES_ON_DISK for every snapshot (taken here or installed); send reads it back. */
  private readonly snapshotBytesOnDisk: boolean
  /**
   * With a traced core only: the bytes of recent snapshots, so that its trace events show the data
   * an InstallSnapshotRequest carries (trace validation compares it) while the node behaves as an
   * untraced one does.
   */
  private readonly tracedSnapshotBytes: Map<string, Uint8Array> | undefined
  /**
   * Bytes of snapshots that arrived in the current turn, by meta, while the core holds the
   * placeholder; emptied when the turn ends (turns run one at a time, see runTurns).
   */
  private readonly arrivingSnapshots = new Map<string, Uint8Array>()

  constructor(options: RaftNodeOptions, recovered: Storage, storage: NodeStorage, transport: NodeTransport, machine: StateMachine) {
    this.options = options
    this.storage = storage
    this.transport = transport
    this.machine = machine
    this.snapshotBytesOnDisk = storage.readSnapshotData !== undefined
    const { meta, data } = recovered.snapshot
    const coreTrace = options.raft.trace
    if (coreTrace !== undefined && this.snapshotBytesOnDisk) this.tracedSnapshotBytes = new Map()
    this.keepForTrace(meta, data)
    const raftOptions = this.tracedSnapshotBytes === undefined ? options.raft
      : { ...options.raft, trace: (event: TraceEvent) => coreTrace!(this.withSnapshotBytes(event)) }
    this.raft = restartRaft(raftOptions, this.snapshotBytesOnDisk && data.length > 0
      ? { ...recovered, snapshot: { meta, data: SNAPSHOT_BYTES_ON_DISK } }
      : recovered)
    this.snapshotIndex = recovered.snapshot.meta.index
    this.appliedIndex = recovered.snapshot.meta.index
    this.appliedTerm = recovered.snapshot.meta.term
    this.appliedConfig = recovered.snapshot.meta.config
    this.leaderId = 0 as NodeId
    if (data.length > 0) machine.restore(data)
    // Request IDs: 20 bits of the node's ID, then a counter from a random 44-bit start, so that
    // a restarted node does not reuse the IDs of its entries that are still being committed.
    const start = options.requestIdStart ?? BigInt(randomInt(2 ** 47))
    this.nextRequestId = (BigInt(options.raft.id % 0x100000) << 44n) | (start & ((1n << 44n) - 1n))
    this.defer = options.defer ?? setImmediate
    this.trace = options.trace
    this.bugs = options.bugs ?? new Set()
  }

  get term(): Term {
    return this.raft.currentTerm
  }
  /** Leader only: how far `id`'s log is known to match ours (undefined if not tracked). */
  matchIndexOf(id: NodeId): LogIndex | undefined {
    return this.raft.progress.get(id)?.matchIndex
  }
  get lastIndex(): LogIndex {
    return lastIndex(this.raft.log)
  }
  get commitIndex(): LogIndex {
    return this.raft.log.commitIndex
  }

  /** Inputs not yet stepped: a simulator traces the messages among them as lost when it crashes the node. */
  get pendingInputs(): ReadonlyArray<Input> {
    return this.inputs
  }

  /** Feeds an input (Tick, Hup, a peer's Message, ...) into the next turn. */
  push(input: Input): void {
    if (this.stopped) return
    this.inputs.push(input)
    this.schedule()
  }

  private takeReadContext(): number {
    return this.options.newReadContext?.() ?? this.nextReadContext++
  }

  /** A fresh request ID for an entry this node proposes. */
  newRequestId(): bigint {
    const requestId = this.nextRequestId
    this.nextRequestId = BigInt.asUintN(64, requestId + 1n)
    return requestId
  }

  /** Replicates `data` (which names `requestId`) and resolves with its result once applied here. */
  propose(requestId: bigint, data: Uint8Array): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.proposalWaiters.add(requestId, { resolve, reject, deadlineMs: this.options.nowMs() + this.options.requestTimeoutMs })
      this.proposals.push(data)
      this.schedule()
    })
  }

  /**
   * Proposes a membership change on the leader; `context` (which names `requestId`) rides in the
   * Config entry. Resolves with the machine's result once the entry is applied here.
   */
  proposeConfChange(requestId: bigint, changes: ReadonlyArray<ConfChange>, context: Uint8Array): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.proposalWaiters.add(requestId, { resolve, reject, deadlineMs: this.options.nowMs() + this.options.requestTimeoutMs })
      this.confChanges.push({ requestId, changes, context })
      this.schedule()
    })
  }

  /** Resolves once this node has applied everything committed before the call (ReadIndex). */
  linearizableBarrier(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const context = -this.takeReadContext() // negative keys: individual deadlines, not batches
      this.readFailures.add(context, { resolve, reject, deadlineMs: this.options.nowMs() + this.options.requestTimeoutMs })
      this.readWaiters.push(() => this.readFailures.resolve(context, undefined))
      this.schedule()
    })
  }

  /** Resolves once everything up to `index` is applied here (startup replay, tests). */
  whenApplied(index: LogIndex): Promise<void> {
    if (index <= this.appliedIndex) return Promise.resolve()
    return new Promise((resolve) => {
      this.pendingReads.push({ index, resolve })
      this.inputs.push({ type: "Applied", index: this.appliedIndex })
      this.schedule()
    })
  }

  /** Fails requests past their deadline; the shell calls it with each tick. */
  expireRequests(): void {
    const now = this.options.nowMs()
    this.proposalWaiters.expire(now, () => new RequestTimeoutError())
    this.readFailures.expire(now, () => new RequestTimeoutError())
  }

  stop(error?: Error): void {
    if (this.stopped) return
    this.stopped = true
    const reason = error ?? new Error("etcdserver: server stopped")
    this.proposalWaiters.rejectAll(reason)
    this.readFailures.rejectAll(reason)
  }

  private schedule(): void {
    if (this.scheduled || this.running || this.stopped) return
    this.scheduled = true
    this.defer(() => {
      this.scheduled = false
      void this.runTurns()
    })
  }

  private hasWork(): boolean {
    return this.inputs.length > 0 || this.confChanges.length > 0 || this.proposals.length > 0 || this.readWaiters.length > 0 || this.remoteReads.length > 0
  }

  private async runTurns(): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      while (this.hasWork() && !this.stopped) await this.turn()
    } catch (error) {
      // A failed write leaves the node unable to promise durability: stop, as etcd does.
      this.failure = error instanceof Error ? error : new Error(String(error))
      this.stop(this.failure)
      this.onFatal(this.failure)
    } finally {
      this.running = false
    }
  }

  private async turn(): Promise<void> {
    const readies: Array<Ready> = []
    for (const input of this.inputs.splice(0)) readies.push(this.step(this.snapshotBytesAside(input)))
    for (const change of this.confChanges.splice(0)) {
      const ready = this.step({ type: "ProposeConfChange", changes: change.changes, context: change.context })
      if (ready.rejection !== undefined) this.proposalWaiters.reject(change.requestId, new ConfChangeRejectedError(ready.rejection))
      readies.push(ready)
    }
    if (this.proposals.length > 0) {
      const batch = this.proposals
      this.proposals = []
      const ready = this.step({ type: "Propose", data: batch })
      if (ready.rejection === "NotLeader" && this.leaderId !== None) this.transport.forwardProposals(this.leaderId, batch)
      else if (ready.rejection !== undefined) this.parked.push(...batch)
      readies.push(ready)
    }
    if (this.readWaiters.length > 0 || this.remoteReads.length > 0) {
      const context = this.takeReadContext()
      const batch = this.readWaiters
      const remote = this.remoteReads
      this.readWaiters = []
      this.remoteReads = []
      const ready = this.step({ type: "ReadIndex", context })
      if (ready.rejection === undefined) {
        this.readBatches.set(context, batch)
        if (remote.length > 0) this.remoteReadBatches.set(context, remote)
      } else if (ready.rejection === "NotLeader" && this.leaderId !== None && batch.length > 0) {
        // A follower's reads: the leader confirms its leadership and names the index to wait for.
        this.readBatches.set(context, batch)
        this.transport.requestReadIndex(this.leaderId, context)
      } else {
        this.parkedReads.push(...batch) // no leader known: wait for one (or the deadline)
      }
      readies.push(ready)
    }
    try {
      await this.handleReady(mergeReadies(readies))
    } finally {
      this.arrivingSnapshots.clear()
    }
  }

  /** An InstallSnapshotRequest goes to the core with the placeholder; its bytes wait in arrivingSnapshots. */
  private snapshotBytesAside(input: Input): Input {
    if (!this.snapshotBytesOnDisk || input.type !== "Message") return input
    const message = input.message
    if (message.type !== "InstallSnapshotRequest" || message.snapshot.data === SNAPSHOT_BYTES_ON_DISK) return input
    const { meta, data } = message.snapshot
    this.arrivingSnapshots.set(snapshotKey(meta), data)
    this.keepForTrace(meta, data)
    return { type: "Message", message: { ...message, snapshot: { meta, data: SNAPSHOT_BYTES_ON_DISK } } }
  }

  private keepForTrace(meta: SnapshotMeta, data: Uint8Array): void {
    const kept = this.tracedSnapshotBytes
    if (kept === undefined) return
    kept.set(snapshotKey(meta), data)
    for (const key of kept.keys()) if (kept.size > TRACED_SNAPSHOTS_KEPT) kept.delete(key)
  }

  private withSnapshotBytes(event: TraceEvent): TraceEvent {
    const message = event.message
    if (message?.type !== "InstallSnapshotRequest" || message.snapshot.data !== SNAPSHOT_BYTES_ON_DISK) return event
    const data = this.tracedSnapshotBytes!.get(snapshotKey(message.snapshot.meta))
    assert(data !== undefined, `trace: the bytes of snapshot ${message.snapshot.meta.index} are not kept`)
    return { ...event, message: { ...message, snapshot: { meta: message.snapshot.meta, data } } }
  }

  private parkedReads: Array<() => void> = []
  private confChanges: Array<{ readonly requestId: bigint; readonly changes: ReadonlyArray<ConfChange>; readonly context: Uint8Array }> = []
  /** Read index requests of followers, served with this leader's next ReadIndex round. */
  private remoteReads: Array<{ readonly from: NodeId; readonly context: number }> = []
  private readonly remoteReadBatches = new Map<number, Array<{ readonly from: NodeId; readonly context: number }>>()

  /** Proposals a follower forwarded: proposed here; the follower's waiters resolve on apply. */
  receiveForwardedProposals(datas: ReadonlyArray<Uint8Array>): void {
    if (this.stopped) return
    this.proposals.push(...datas)
    this.schedule()
  }

  /** A follower's read index request. */
  receiveReadIndexRequest(from: NodeId, context: number): void {
    if (this.stopped) return
    this.remoteReads.push({ from, context })
    this.schedule()
  }

  /** The leader's answer to one of our read index requests. */
  readIndexAnswered(context: number, index: LogIndex): void {
    const batch = this.readBatches.get(context)
    if (batch === undefined) return
    this.readBatches.delete(context)
    for (const resolve of batch) this.pendingReads.push({ index, resolve })
    this.releaseReads()
  }

  private step(input: Input): Ready {
    const { state, ready } = step(this.raft, input)
    const leaderChanged = ready.leaderId !== this.leaderId
    this.raft = state
    this.role = ready.role
    this.leaderId = ready.leaderId
    // Requests held while no leader was known go out once one is (re-proposed or forwarded).
    // Requests a known leader refused (a leader transfer in progress, a full read queue) are
    // retried once per tick: retrying on every step would re-propose them from the refusing step
    // itself, a loop of microtasks that never yields to the ticker that ends the transfer.
    const retry = leaderChanged || input.type === "Tick"
    if (ready.leaderId !== None && retry && (this.parked.length > 0 || this.parkedReads.length > 0)) {
      this.proposals.push(...this.parked.splice(0))
      this.readWaiters.push(...this.parkedReads.splice(0))
    }
    return ready
  }

  private send(messages: ReadonlyArray<Message>, afterPersist: boolean): void {
    if (messages.length === 0) return
    if (this.snapshotBytesOnDisk && messages.some(isSnapshotOnDisk)) {
      for (const message of messages) if (isSnapshotOnDisk(message)) this.sendSnapshotFromDisk(message)
      messages = messages.filter((message) => !isSnapshotOnDisk(message))
      if (messages.length === 0) return
    }
    this.transport.send(messages)
    this.trace?.({ kind: "Sent", node: this.options.raft.id, messages, afterPersist })
  }

  /**
   * Sends an InstallSnapshotRequest once its bytes are read back from disk. Other messages do not
   * wait for it: Raft tolerates reordering, and the leader sends no appends to a follower whose
   * snapshot is in flight.
   */
  private sendSnapshotFromDisk(message: InstallSnapshotRequest): void {
    const meta = message.snapshot.meta
    this.storage.readSnapshotData!(meta).then(
      (data) => {
        if (this.stopped) return
        const messages = [{ ...message, snapshot: { meta, data } }]
        this.transport.send(messages)
        this.trace?.({ kind: "Sent", node: this.options.raft.id, messages, afterPersist: false })
      },
      (error: unknown) => {
        if (this.stopped) return
        this.failure = new Error(`reading snapshot ${meta.index} (term ${meta.term}) to send it: ${error instanceof Error ? error.message : String(error)}`)
        this.stop(this.failure)
        this.onFatal(this.failure)
      },
    )
  }

  private async saveSnapshot(snapshot: Snapshot, installed: boolean): Promise<void> {
    await this.storage.saveSnapshot(snapshot, installed)
    this.trace?.({ kind: "SnapshotSaved", node: this.options.raft.id, index: snapshot.meta.index, term: snapshot.meta.term, installed })
  }

  private async save(ready: Ready): Promise<void> {
    if (ready.hardState === undefined && ready.entries.length === 0) return
    const sync = ready.mustSync && !this.bugs.has("SaveWithoutSync")
    await this.storage.save(ready.hardState, ready.entries, sync)
    const first = ready.entries[0]
    const last = ready.entries[ready.entries.length - 1]
    this.trace?.({
      kind: "Saved",
      node: this.options.raft.id,
      hardState: ready.hardState,
      firstIndex: first?.index,
      lastIndex: last?.index,
      lastTerm: last?.term,
      sync,
    })
  }

  private async handleReady(ready: Ready): Promise<void> {
    this.send(ready.messages, false)
    if (ready.snapshot !== undefined) {
      const meta = ready.snapshot.meta
      const data = ready.snapshot.data === SNAPSHOT_BYTES_ON_DISK ? this.arrivingSnapshots.get(snapshotKey(meta)) : ready.snapshot.data
      assert(data !== undefined, `installing snapshot ${meta.index} (term ${meta.term}): its bytes did not arrive in this turn`)
      await this.saveSnapshot({ meta, data }, true)
      this.machine.restore(data)
      this.snapshotIndex = ready.snapshot.meta.index
      this.appliedIndex = ready.snapshot.meta.index
      this.appliedTerm = ready.snapshot.meta.term
      this.appliedConfig = ready.snapshot.meta.config
      this.onSnapshotInstalled(ready.snapshot.meta.index)
    }
    // The correct order is save, then send what promises durability, then apply. The planted
    // node-loop bugs (tests and the simulator only) move one of these steps.
    const applyFirst = this.bugs.has("ApplyBeforePersist")
    if (applyFirst) await this.apply(ready.committedEntries)
    if (this.bugs.has("SendBeforePersist")) this.send(ready.messagesAfterPersist, true)
    await this.save(ready)
    if (!this.bugs.has("SendBeforePersist")) this.send(ready.messagesAfterPersist, true)
    const last = ready.entries[ready.entries.length - 1]
    const persisted = last === undefined ? undefined : this.step({ type: "Persisted", index: last.index, term: last.term })
    for (const readState of ready.readStates) {
      for (const remote of this.remoteReadBatches.get(readState.context) ?? []) {
        this.transport.answerReadIndex(remote.from, remote.context, readState.index)
      }
      this.remoteReadBatches.delete(readState.context)
      const batch = this.readBatches.get(readState.context)
      if (batch === undefined) continue
      this.readBatches.delete(readState.context)
      for (const resolve of batch) this.pendingReads.push({ index: readState.index, resolve })
    }
    if (!applyFirst) await this.apply(ready.committedEntries)
    // The Persisted step may commit (a single voter commits as soon as its own write is durable).
    if (persisted !== undefined && !isEmptyReady(persisted)) await this.handleReady(persisted)
  }

  private async apply(entries: ReadonlyArray<Entry>): Promise<void> {
    if (entries.length === 0) return this.releaseReads()
    for (const entry of entries) {
      let answered: bigint | undefined
      assert(entry.index === this.appliedIndex + 1, "apply: entries out of order")
      if (entry.type === "Config") this.appliedConfig = entry.config!
      if (entry.type === "Config" || entry.data.length > 0) {
        const { requestId, result, events } = this.machine.applyEntry(entry)
        if (events.length > 0) this.onEvents(events)
        if (requestId !== undefined && this.proposalWaiters.resolve(requestId, result)) answered = requestId
      }
      this.appliedIndex = entry.index
      this.appliedTerm = entry.term
      if (this.trace !== undefined) {
        // The waiter's promise settles later, so the client hears back after both events.
        this.trace({ kind: "Applied", node: this.options.raft.id, index: entry.index, term: entry.term })
        if (answered !== undefined) this.trace({ kind: "Answered", node: this.options.raft.id, requestId: answered, index: entry.index })
      }
    }
    this.inputs.push({ type: "Applied", index: this.appliedIndex })
    this.releaseReads()
    if (this.appliedIndex - this.snapshotIndex >= this.options.snapshotCount) await this.takeSnapshot()
  }

  private releaseReads(): void {
    if (this.pendingReads.length === 0) return
    const stillWaiting: Array<PendingRead> = []
    for (const read of this.pendingReads) {
      if (read.index <= this.appliedIndex) read.resolve()
      else stillWaiting.push(read)
    }
    this.pendingReads = stillWaiting
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.appliedIndex
    const data = this.machine.snapshot()
    const snapshot: Snapshot = {
      meta: { index, term: this.appliedTerm, config: this.appliedConfig },
      data,
    }
    await this.saveSnapshot(snapshot, false)
    this.keepForTrace(snapshot.meta, data)
    this.snapshotIndex = index
    this.inputs.push({ type: "CompactLog", index, data: this.snapshotBytesOnDisk ? SNAPSHOT_BYTES_ON_DISK : data })
  }
}

/** Readies of consecutive steps, as one: later hard state wins, entries splice, lists concatenate. */
export function mergeReadies(readies: ReadonlyArray<Ready>): Ready {
  assert(readies.length > 0, "mergeReadies: nothing to merge")
  if (readies.length === 1) return readies[0]!
  let entries: Array<Entry> = []
  let hardState: HardState | undefined
  let snapshot: Snapshot | undefined
  let mustSync = false
  const messages: Array<Message> = []
  const messagesAfterPersist: Array<Message> = []
  let committedEntries: Array<Entry> = []
  const readStates: Array<Ready["readStates"][number]> = []
  for (const ready of readies) {
    if (ready.hardState !== undefined) hardState = ready.hardState
    if (ready.snapshot !== undefined) {
      snapshot = ready.snapshot
      entries = entries.filter((entry) => entry.index > ready.snapshot!.meta.index)
      // The snapshot already holds what earlier steps committed up to its index: applied after
      // it, those entries would go in twice and out of order.
      committedEntries = committedEntries.filter((entry) => entry.index > ready.snapshot!.meta.index)
    }
    const first = ready.entries[0]
    if (first !== undefined) {
      // A later Ready's entries replace everything from their first index on.
      entries = entries.filter((entry) => entry.index < first.index)
      entries.push(...ready.entries)
    }
    mustSync ||= ready.mustSync
    messages.push(...ready.messages)
    messagesAfterPersist.push(...ready.messagesAfterPersist)
    committedEntries.push(...ready.committedEntries)
    readStates.push(...ready.readStates)
  }
  const last = readies[readies.length - 1]!
  return {
    role: last.role,
    leaderId: last.leaderId,
    hardState,
    entries,
    snapshot,
    messages,
    messagesAfterPersist,
    committedEntries,
    readStates,
    mustSync,
    rejection: undefined,
  }
}
