// An in-memory cluster of real src/raft servers for the checkers: each server has a RaftState,
// the storage its Readies made durable, and an application (the list of values it applied).
// Messages in flight are a bag (an array; order is irrelevant and canonicalized when hashing).
// One call of `stepServer` is one atomic turn of a server's shell: step, then persist, send,
// apply and acknowledge until the core has nothing more to say.
import { assert } from "../../src/assert.ts"
import { bootstrapStorage, type Input, type RaftOptions, type Ready, type Storage } from "../../src/raft/Api.ts"
import type { BugName } from "../../src/raft/Bugs.ts"
import { cloneRaft, isEmptyReady, type RaftState, restartRaft, step } from "../../src/raft/RawNode.ts"
import type { TraceEvent } from "../../src/raft/Trace.ts"
import type { Config, Entry, LogIndex, Message, NodeId, Snapshot, Term } from "../../src/raft/Types.ts"

export interface Server {
  raft: RaftState
  /** What survives a crash. */
  storage: Storage
  /** The application: values of applied Normal entries, by log index (0 for no-ops/configs). */
  applied: number[]
  /** Index of the last entry reflected in `applied` (snapshot index after an install). */
  appliedIndex: LogIndex
}

/** A ReadIndex answer and what had been committed anywhere when its request arrived. */
export interface ReadRecord {
  readonly context: number
  readonly server: NodeId
  readonly committedAtStart: LogIndex
  index: LogIndex | undefined
}

export interface ClusterState {
  servers: Map<NodeId, Server>
  network: Message[]
  reads: ReadRecord[]
}

export interface ClusterOptions {
  readonly ids: ReadonlyArray<NodeId>
  readonly initialConfig: Config
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly electionTimeoutTicks?: number
  readonly heartbeatTimeoutTicks?: number
  readonly appendEntriesCountMax?: number
  readonly inflightCountMax?: number
  readonly seed?: number
  readonly bugs?: ReadonlySet<BugName>
  readonly trace?: (event: TraceEvent) => void
}

export function raftOptionsFor(options: ClusterOptions, id: NodeId): RaftOptions {
  const base = {
    id,
    electionTimeoutTicks: options.electionTimeoutTicks ?? 10,
    heartbeatTimeoutTicks: options.heartbeatTimeoutTicks ?? 1,
    preVote: options.preVote,
    checkQuorum: options.checkQuorum,
    appendEntriesCountMax: options.appendEntriesCountMax ?? 64,
    inflightCountMax: options.inflightCountMax ?? 16,
    seed: (options.seed ?? 1) * 1000 + id,
    verify: true,
  }
  return {
    ...base,
    ...(options.bugs === undefined ? {} : { bugs: options.bugs }),
    ...(options.trace === undefined ? {} : { trace: options.trace }),
  }
}

export function newCluster(options: ClusterOptions): ClusterState {
  const servers = new Map<NodeId, Server>()
  for (const id of options.ids) {
    const storage = bootstrapStorage(options.initialConfig)
    servers.set(id, { raft: restartRaft(raftOptionsFor(options, id), storage), storage, applied: [], appliedIndex: 0 as LogIndex })
  }
  return { servers, network: [], reads: [] }
}

export function cloneCluster(c: ClusterState): ClusterState {
  const servers = new Map<NodeId, Server>()
  for (const [id, s] of c.servers) {
    servers.set(id, {
      raft: cloneRaft(s.raft),
      storage: { ...s.storage, entries: s.storage.entries.slice() },
      applied: s.applied.slice(),
      appliedIndex: s.appliedIndex,
    })
  }
  return { servers, network: c.network.slice(), reads: c.reads.map((r) => ({ ...r })) }
}

export function server(c: ClusterState, id: NodeId): Server {
  const s = c.servers.get(id)
  assert(s !== undefined, "cluster: no such server")
  return s
}

/** The highest commit index any server knows: what "committed" means for ReadSafety. */
export function highestCommitIndex(c: ClusterState): LogIndex {
  let max = 0
  for (const s of c.servers.values()) max = Math.max(max, s.raft.log.commitIndex)
  return max as LogIndex
}

/** One turn of server `id`: step `input`, then drain its Readies. Returns the first Ready. */
export function stepServer(c: ClusterState, id: NodeId, input: Input): Ready {
  const s = server(c, id)
  if (input.type === "ReadIndex") {
    c.reads.push({ context: input.context, server: id, committedAtStart: highestCommitIndex(c), index: undefined })
  }
  const first = step(s.raft, input).ready
  let ready = first
  for (let rounds = 0; ; rounds++) {
    assert(rounds < 100, "cluster: the core keeps producing Readies")
    const acks = handleReady(c, s, id, ready)
    if (acks.length === 0) break
    let next: Ready | undefined
    for (const ack of acks) {
      const r = step(s.raft, ack).ready
      if (!isEmptyReady(r)) {
        assert(next === undefined, "cluster: two non-empty Readies from acknowledgements")
        next = r
      }
    }
    if (next === undefined) break
    ready = next
  }
  return first
}

/** Persist, send, apply (in that order); returns the acknowledgements to feed back. */
function handleReady(c: ClusterState, s: Server, id: NodeId, ready: Ready): Input[] {
  const acks: Input[] = []
  if (ready.snapshot !== undefined) installSnapshot(s, ready.snapshot)
  if (ready.entries.length > 0) {
    const first = ready.entries[0]!.index
    const keep = first - s.storage.snapshot.meta.index - 1
    assert(keep >= 0 && keep <= s.storage.entries.length, "cluster: Ready entries leave a gap")
    s.storage = { ...s.storage, entries: s.storage.entries.slice(0, keep).concat(ready.entries) }
    const last = ready.entries[ready.entries.length - 1]!
    acks.push({ type: "Persisted", index: last.index, term: last.term })
  }
  if (ready.hardState !== undefined) s.storage = { ...s.storage, hardState: ready.hardState }
  for (const m of ready.messages) c.network.push(m)
  for (const m of ready.messagesAfterPersist) c.network.push(m)
  for (const entry of ready.committedEntries) applyEntry(s, entry)
  if (ready.committedEntries.length > 0) acks.push({ type: "Applied", index: s.appliedIndex })
  for (const rs of ready.readStates) {
    const record = c.reads.find((r) => r.server === id && r.context === rs.context && r.index === undefined)
    assert(record !== undefined, "cluster: a ReadIndex answer nobody asked for")
    record.index = rs.index
  }
  return acks
}

function applyEntry(s: Server, entry: Entry): void {
  assert(entry.index === s.appliedIndex + 1, "cluster: entries applied out of order")
  s.applied.push(entry.type === "Normal" && entry.data.length > 0 ? entry.data[0]! : 0)
  s.appliedIndex = entry.index
}

function installSnapshot(s: Server, snapshot: Snapshot): void {
  s.storage = { ...s.storage, snapshot, entries: [] }
  s.applied = Array.from(snapshot.data)
  s.appliedIndex = snapshot.meta.index
}

/** The application state at `index` as snapshot data (one byte per applied entry). */
export function snapshotData(s: Server, index: LogIndex): Uint8Array {
  assert(index <= s.appliedIndex, "cluster: snapshot beyond applied")
  return Uint8Array.from(s.applied.slice(0, index))
}

/**
 * The application snapshots its state at `index` (<= applied) and the core compacts its log;
 * the shell makes the compaction durable, so a restart comes back compacted (spec: the
 * snapshot variables are persistent).
 */
export function compactLog(c: ClusterState, id: NodeId, index: LogIndex): void {
  const s = server(c, id)
  stepServer(c, id, { type: "CompactLog", index, data: snapshotData(s, index) })
  const snapshot = s.raft.log.snapshot
  if (snapshot.meta.index <= s.storage.snapshot.meta.index) return
  const entries = s.storage.entries.filter((entry) => entry.index > snapshot.meta.index)
  s.storage = { ...s.storage, snapshot, entries }
}

/** Crash and restart: everything not in storage is lost. */
export function restartServer(c: ClusterState, options: ClusterOptions, id: NodeId): void {
  const s = server(c, id)
  const raft = restartRaft(raftOptionsFor(options, id), s.storage)
  s.raft = raft
  s.applied = Array.from(s.storage.snapshot.data)
  s.appliedIndex = s.storage.snapshot.meta.index
  // Committed entries come back from the log in the next Ready; drain them now.
  stepServer(c, id, { type: "Applied", index: s.appliedIndex })
}

/** Removes the message at `k` from the network and delivers it. */
export function deliver(c: ClusterState, k: number): void {
  const [m] = c.network.splice(k, 1)
  assert(m !== undefined, "cluster: no message at that position")
  stepServer(c, m.to, { type: "Message", message: m })
}

export const value = (v: number): Uint8Array => Uint8Array.of(v)
export const termOf = (n: number): Term => n as Term
