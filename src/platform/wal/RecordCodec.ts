// Payloads of the WAL record types, in a compact little-endian binary form. 64-bit fields are
// written as two u32 halves and must be safe integers (terms, indexes and ids are).
import { assert } from "../../assert.ts"
import type { Config, Entry, HardState, LogIndex, NodeId, Term } from "../../raft/Types.ts"
import { logIndex, nodeId, term } from "../../raft/Types.ts"
import { BytePool } from "../../kv/BytePool.ts"

/**
 * A snapshot is durable at (index, term). "Installed": a snapshot received from the leader that
 * replaced the whole log. "Compacted": a local snapshot; log entries after it stay.
 */
export interface SnapshotMarker {
  readonly index: LogIndex
  readonly term: Term
  readonly kind: "Installed" | "Compacted"
}

/** What every segment starts with: enough to replay it without the segments before it. */
export interface SegmentHeader {
  readonly formatVersion: number
  readonly segmentSeq: number
  /** lastIndex + 1 when the segment was cut; later records may still rewrite lower indexes. */
  readonly firstIndex: LogIndex
  /** The hard state and newest snapshot marker in force at the cut (so older segments may go). */
  readonly hardState: HardState
  readonly snapshotMarker: SnapshotMarker | undefined
}

export const walFormatVersion = 1

export function writeU64(view: DataView, offset: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, "writeU64: not a non-negative safe integer")
  view.setUint32(offset, value >>> 0, true)
  view.setUint32(offset + 4, Math.floor(value / 2 ** 32), true)
}

export function readU64(view: DataView, offset: number): number {
  const high = view.getUint32(offset + 4, true)
  assert(high < 2 ** 21, "readU64: value beyond 2^53")
  return high * 2 ** 32 + view.getUint32(offset, true)
}

// ---- Config: three u32-counted lists of u64 ids ----

export const configBytes = (c: Config): number =>
  12 + 8 * (c.voters.length + c.votersOutgoing.length + c.learners.length)

function writeIds(view: DataView, offset: number, ids: ReadonlyArray<NodeId>): number {
  view.setUint32(offset, ids.length, true)
  let at = offset + 4
  for (const id of ids) {
    writeU64(view, at, id)
    at += 8
  }
  return at
}

function readIds(view: DataView, offset: number, end: number): [NodeId[], number] {
  assert(offset + 4 <= end, "config: id count beyond payload")
  const count = view.getUint32(offset, true)
  assert(offset + 4 + count * 8 <= end, "config: ids beyond payload")
  const ids: NodeId[] = []
  for (let k = 0; k < count; k++) ids.push(nodeId(readU64(view, offset + 4 + k * 8)))
  return [ids, offset + 4 + count * 8]
}

export function writeConfig(view: DataView, offset: number, c: Config): number {
  const afterVoters = writeIds(view, offset, c.voters)
  return writeIds(view, writeIds(view, afterVoters, c.votersOutgoing), c.learners)
}

export function readConfig(view: DataView, offset: number, end: number): [Config, number] {
  const [voters, a] = readIds(view, offset, end)
  const [votersOutgoing, b] = readIds(view, a, end)
  const [learners, c] = readIds(view, b, end)
  return [{ voters, votersOutgoing, learners }, c]
}

// ---- Entry: term u64, index u64, kind u8 (0 Normal, 1 Config), [config], data (the rest) ----

const entryFixedBytes = 17

export function entryPayloadBytes(e: Entry): number {
  return entryFixedBytes + (e.type === "Config" ? configBytes(e.config!) : 0) + e.data.length
}

export function writeEntry(bytes: Uint8Array, view: DataView, offset: number, e: Entry): number {
  writeU64(view, offset, e.term)
  writeU64(view, offset + 8, e.index)
  view.setUint8(offset + 16, e.type === "Config" ? 1 : 0)
  let at = offset + entryFixedBytes
  if (e.type === "Config") {
    assert(e.config !== undefined, "writeEntry: Config entry without a config")
    at = writeConfig(view, at, e.config)
  } else {
    assert(e.config === undefined, "writeEntry: Normal entry with a config")
  }
  bytes.set(e.data, at)
  return at + e.data.length
}

const replayPool = new BytePool()

function copyInto(pool: BytePool, bytes: Uint8Array): Uint8Array {
  const copy = pool.allocate(bytes.length)
  copy.set(bytes)
  return copy
}

export function readEntry(bytes: Uint8Array, view: DataView, offset: number, end: number): Entry {
  assert(offset + entryFixedBytes <= end, "entry record too short")
  const kind = view.getUint8(offset + 16)
  assert(kind <= 1, "entry record: unknown kind")
  let at = offset + entryFixedBytes
  let config: Config | undefined
  if (kind === 1) [config, at] = readConfig(view, at, end)
  return {
    term: term(readU64(view, offset)),
    index: logIndex(readU64(view, offset + 8)),
    type: kind === 1 ? "Config" : "Normal",
    // A copy: the window it was read through is reused. Replayed entries stay in the in-memory
    // log until a snapshot compacts them, hence the pool (see kv/BytePool.ts).
    data: copyInto(replayPool, bytes.subarray(at, end)),
    config,
  }
}

// ---- HardState: currentTerm u64, votedFor u64, commitIndex u64 ----

export const hardStateBytes = 24

export function writeHardState(view: DataView, offset: number, h: HardState): number {
  writeU64(view, offset, h.currentTerm)
  writeU64(view, offset + 8, h.votedFor)
  writeU64(view, offset + 16, h.commitIndex)
  return offset + hardStateBytes
}

export function readHardState(view: DataView, offset: number, end: number): HardState {
  assert(offset + hardStateBytes <= end, "hard state record too short")
  return {
    currentTerm: term(readU64(view, offset)),
    votedFor: nodeId(readU64(view, offset + 8)),
    commitIndex: logIndex(readU64(view, offset + 16)),
  }
}

// ---- SnapshotMarker: index u64, term u64, kind u8 (0 Compacted, 1 Installed) ----

export const snapshotMarkerBytes = 17

export function writeSnapshotMarker(view: DataView, offset: number, m: SnapshotMarker): number {
  writeU64(view, offset, m.index)
  writeU64(view, offset + 8, m.term)
  view.setUint8(offset + 16, m.kind === "Installed" ? 1 : 0)
  return offset + snapshotMarkerBytes
}

export function readSnapshotMarker(view: DataView, offset: number, end: number): SnapshotMarker {
  assert(offset + snapshotMarkerBytes <= end, "snapshot marker record too short")
  const kind = view.getUint8(offset + 16)
  assert(kind <= 1, "snapshot marker: unknown kind")
  return {
    index: logIndex(readU64(view, offset)),
    term: term(readU64(view, offset + 8)),
    kind: kind === 1 ? "Installed" : "Compacted",
  }
}

// ---- SegmentHeader: version u32, hasMarker u8, pad 3, segmentSeq u64, firstIndex u64,
//      hard state, snapshot marker (zeros when absent) ----

export const segmentHeaderBytes = 8 + 16 + hardStateBytes + snapshotMarkerBytes

export function writeSegmentHeader(view: DataView, offset: number, h: SegmentHeader): number {
  view.setUint32(offset, h.formatVersion, true)
  view.setUint32(offset + 4, h.snapshotMarker === undefined ? 0 : 1, true)
  writeU64(view, offset + 8, h.segmentSeq)
  writeU64(view, offset + 16, h.firstIndex)
  const at = writeHardState(view, offset + 24, h.hardState)
  const marker = h.snapshotMarker ?? { index: logIndex(0), term: term(0), kind: "Compacted" }
  return writeSnapshotMarker(view, at, marker)
}

export function readSegmentHeader(view: DataView, offset: number, end: number): SegmentHeader {
  assert(offset + segmentHeaderBytes <= end, "segment header record too short")
  const hasMarker = view.getUint32(offset + 4, true) === 1
  const at = offset + 24
  return {
    formatVersion: view.getUint32(offset, true),
    segmentSeq: readU64(view, offset + 8),
    firstIndex: logIndex(readU64(view, offset + 16)),
    hardState: readHardState(view, at, end),
    snapshotMarker: hasMarker ? readSnapshotMarker(view, at + hardStateBytes, end) : undefined,
  }
}
