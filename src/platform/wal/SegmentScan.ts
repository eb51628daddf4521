// Reads one segment file's records and decides where its valid data ends.
//
// Every save is one write and saves are serialized, so after a crash at most the last save of the
// last segment can be incomplete. A damaged or missing record there is a torn write when every
// intact record from the last complete save on belongs to the next save (sequence S+1). Any other
// damage (in an older segment, or followed by a record of another save) is corruption of data
// that may have been acknowledged: recovery refuses to start and names the file and offset.
//
// The file is read through a window of `windowBytes` (1 MiB at open), not whole: a segment is
// preallocated to 64 MiB, and a buffer that size per segment was resident until the next GC. The
// window slides forward and grows only to hold one record larger than itself; the decisions are
// the same as over the whole file (test/platform/wal-record.test.ts compares every window size).
import { assert } from "../../assert.ts"
import { firstNonZero, frameBytes, frameHeaderBytes, readFrame, recordPayloadBytesMax, RecordType } from "./RecordFrame.ts"
import type { FrameRead } from "./RecordFrame.ts"
import {
  readEntry, readHardState, readSegmentHeader, readSnapshotMarker,
} from "./RecordCodec.ts"
import type { SegmentHeader, SnapshotMarker } from "./RecordCodec.ts"
import type { Entry, HardState } from "../../raft/Types.ts"
import { WalCorruptionError } from "./WalErrors.ts"

export type WalRecord =
  | { readonly type: "Entry"; readonly entry: Entry }
  | { readonly type: "HardState"; readonly hardState: HardState }
  | { readonly type: "SnapshotMarker"; readonly marker: SnapshotMarker }

export interface TornTail {
  /** Where the incomplete save starts: the file is valid up to here. */
  readonly validEnd: number
  /** Where the first damaged or missing record is. */
  readonly damageOffset: number
  readonly reason: string
}

export interface ScannedSegment {
  readonly header: SegmentHeader
  /** Records of complete saves only, in file order. */
  readonly records: ReadonlyArray<WalRecord>
  /** Sequence number of the last complete save (the header counts as one). */
  readonly lastSaveSeq: number
  /** Offset just past the last complete save. */
  readonly validEnd: number
  /** Set only for the last segment, when its final save was cut short. */
  readonly tornTail: TornTail | undefined
}

export interface ScanOptions {
  readonly fileName: string
  /** Only the last segment may end in a torn save or a zero tail. */
  readonly isLast: boolean
  /** The previous segment's last save sequence number, if there is a previous segment. */
  readonly previousSaveSeq: number | undefined
  /** How much of the file is held at once (at least 16 bytes); the default holds it whole. */
  readonly windowBytes?: number
}

/** A segment file's bytes: its length, and reads at any position (a file handle, or memory). */
export interface SegmentSource {
  readonly length: number
  /** Reads up to `length` bytes at `position` into `into[offset...]`; resolves with the count. */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>
}

/** The bytes of a segment already in memory, as a source. */
export function bytesSource(bytes: Uint8Array): SegmentSource {
  return {
    length: bytes.length,
    read: (into, offset, length, position) => {
      const part = bytes.subarray(position, position + length)
      into.set(part, offset)
      return Promise.resolve(part.length)
    },
  }
}

/** The part of the file in memory: file offsets [start, end) are bytes[0, end - start). */
class Window {
  bytes: Uint8Array
  view: DataView
  start = 0
  end = 0
  readonly length: number
  private readonly source: SegmentSource
  private readonly windowBytes: number

  constructor(source: SegmentSource, windowBytes: number) {
    assert(windowBytes >= frameHeaderBytes, "scanSegment: window smaller than a frame header")
    this.source = source
    this.length = source.length
    this.windowBytes = windowBytes
    this.bytes = new Uint8Array(Math.min(windowBytes, this.length))
    this.view = new DataView(this.bytes.buffer)
  }

  /** Makes file offsets [at, at + n) available, as far as the file goes. Keeps what it can. */
  async load(at: number, n: number): Promise<void> {
    const want = Math.min(at + n, this.length)
    if (at >= this.start && want <= this.end) return
    const kept = at >= this.start && at < this.end ? this.end - at : 0
    if (want - at > this.bytes.length) {
      // One record larger than the window: grow to hold it (records are at most 256 MiB).
      const grown = new Uint8Array(Math.max(want - at, this.windowBytes))
      grown.set(this.bytes.subarray(at - this.start, at - this.start + kept))
      this.bytes = grown
      this.view = new DataView(grown.buffer)
    } else if (kept > 0) {
      this.bytes.copyWithin(0, at - this.start, at - this.start + kept)
    }
    this.start = at
    this.end = at + kept
    const fill = Math.min(at + this.bytes.length, this.length)
    while (this.end < fill) {
      const count = await this.source.read(this.bytes, this.end - at, fill - this.end, this.end)
      if (count <= 0) throw new Error(`segment shorter than its ${this.length} bytes`)
      this.end += count
    }
  }

  /** The frame at file offset `at` (checksum verified), with file offsets. */
  async frameAt(at: number): Promise<FrameRead> {
    await this.load(at, frameHeaderBytes)
    if (this.end - at >= frameHeaderBytes) {
      const payloadBytes = this.view.getUint32(at - this.start + 4, true)
      if (payloadBytes <= recordPayloadBytesMax) await this.load(at, frameBytes(payloadBytes))
    }
    // The whole frame is loaded, or everything up to the end of the file is.
    const frame = readFrame(this.bytes, this.view, at - this.start, this.end - this.start)
    if (frame.kind !== "Record") return frame
    return { ...frame, payloadStart: frame.payloadStart + this.start, next: frame.next + this.start }
  }

  /** The first offset at or after `at` holding a non-zero byte, or the file length. */
  async firstNonZero(at: number): Promise<number> {
    for (;;) {
      await this.load(at, this.windowBytes)
      const found = this.start + firstNonZero(this.bytes, at - this.start, this.end - this.start)
      if (found < this.end || this.end === this.length) return found
      at = this.end
    }
  }
}

export async function scanSegment(source: SegmentSource, options: ScanOptions): Promise<ScannedSegment> {
  const window = new Window(source, options.windowBytes ?? Math.max(source.length, frameHeaderBytes))
  const corrupt = (offset: number, reason: string): WalCorruptionError =>
    new WalCorruptionError(options.fileName, offset, reason)
  const first = await window.frameAt(0)
  if (first.kind !== "Record" || first.type !== RecordType.SegmentHeader || !first.lastOfSave) {
    throw corrupt(0, "missing or damaged segment header")
  }
  if (options.previousSaveSeq !== undefined && first.saveSeq !== options.previousSaveSeq + 1) {
    throw corrupt(0, "segment header does not follow the previous segment's last save")
  }
  const header = readSegmentHeader(window.view, first.payloadStart, first.payloadStart + first.payloadBytes)
  const records: WalRecord[] = []
  const pending: WalRecord[] = []
  let lastSaveSeq = first.saveSeq
  let validEnd = first.next
  let offset = first.next
  let frame: FrameRead
  for (;;) {
    frame = await window.frameAt(offset)
    if (frame.kind !== "Record" || frame.saveSeq !== lastSaveSeq + 1) break
    if (frame.type === RecordType.SegmentHeader) break
    pending.push(decodeRecord(window, frame))
    offset = frame.next
    if (frame.lastOfSave) {
      for (const r of pending) records.push(r)
      pending.length = 0
      lastSaveSeq++
      validEnd = offset
    }
  }
  const cleanEnd = frame.kind === "Zero" && pending.length === 0
  const reason = frame.kind === "Damaged" ? frame.reason
    : frame.kind === "Record" ? "record of an unexpected save or type"
    : "save without its last record"
  if (!options.isLast) {
    // Older segments were cut to their written length when the next one began.
    if (cleanEnd && offset === source.length) {
      return { header, records, lastSaveSeq, validEnd, tornTail: undefined }
    }
    throw corrupt(offset, cleanEnd ? "data after the end of a sealed segment" : reason)
  }
  const foreign = await findForeignRecord(window, offset, lastSaveSeq + 1)
  if (foreign !== undefined) {
    const what = cleanEnd ? "zeroed records" : reason
    throw corrupt(offset, `${what} before a record of another save (at ${foreign})`)
  }
  if (cleanEnd && await window.firstNonZero(offset) === source.length) {
    return { header, records, lastSaveSeq, validEnd, tornTail: undefined }
  }
  const tornTail = { validEnd, damageOffset: offset, reason }
  return { header, records, lastSaveSeq, validEnd, tornTail }
}

/**
 * The offset of an intact record at or after `from` that does not belong to save `tornSaveSeq`,
 * or undefined. Intact records of the torn save are skipped whole, so bytes inside their payloads
 * are never mistaken for frames.
 */
async function findForeignRecord(window: Window, from: number, tornSaveSeq: number): Promise<number | undefined> {
  let at = from
  while (at < window.length) {
    at = (await window.firstNonZero(at)) & ~7
    if (at >= window.length) return undefined
    const frame = await window.frameAt(at)
    if (frame.kind === "Record") {
      if (frame.saveSeq !== tornSaveSeq || frame.type === RecordType.SegmentHeader) return at
      at = frame.next
    } else {
      at += 8
    }
  }
  return undefined
}

/** Decodes the record of `frame`, which frameAt has just read: it is in the window. */
function decodeRecord(window: Window, frame: FrameRead & { kind: "Record" }): WalRecord {
  const start = frame.payloadStart - window.start
  const end = start + frame.payloadBytes
  const { bytes, view } = window
  switch (frame.type) {
    case RecordType.Entry: return { type: "Entry", entry: readEntry(bytes, view, start, end) }
    case RecordType.HardState:
      return { type: "HardState", hardState: readHardState(view, start, end) }
    case RecordType.SnapshotMarker:
      return { type: "SnapshotMarker", marker: readSnapshotMarker(view, start, end) }
    case RecordType.SegmentHeader: assert(false, "decodeRecord: segment header inside a segment")
  }
}
