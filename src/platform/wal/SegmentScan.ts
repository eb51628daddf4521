// Reads one segment file's records and decides where its valid data ends.
//
// Every save is one write and saves are serialized, so after a crash at most the last save of the
// last segment can be incomplete. A damaged or missing record there is a torn write when every
// intact record from the last complete save on belongs to the next save (sequence S+1). Any other
// damage (in an older segment, or followed by a record of another save) is corruption of data
// that may have been acknowledged: recovery refuses to start and names the file and offset.
import { assert } from "../../assert.ts"
import { firstNonZero, readFrame, RecordType } from "./RecordFrame.ts"
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
}

export function scanSegment(bytes: Uint8Array, options: ScanOptions): ScannedSegment {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const corrupt = (offset: number, reason: string): WalCorruptionError =>
    new WalCorruptionError(options.fileName, offset, reason)
  const first = readFrame(bytes, view, 0, bytes.length)
  if (first.kind !== "Record" || first.type !== RecordType.SegmentHeader || !first.lastOfSave) {
    throw corrupt(0, "missing or damaged segment header")
  }
  if (options.previousSaveSeq !== undefined && first.saveSeq !== options.previousSaveSeq + 1) {
    throw corrupt(0, "segment header does not follow the previous segment's last save")
  }
  const headerEnd = first.payloadStart + first.payloadBytes
  const header = readSegmentHeader(view, first.payloadStart, headerEnd)
  const records: WalRecord[] = []
  const pending: WalRecord[] = []
  let lastSaveSeq = first.saveSeq
  let validEnd = first.next
  let offset = first.next
  let frame: FrameRead
  for (;;) {
    frame = readFrame(bytes, view, offset, bytes.length)
    if (frame.kind !== "Record" || frame.saveSeq !== lastSaveSeq + 1) break
    if (frame.type === RecordType.SegmentHeader) break
    pending.push(decodeRecord(bytes, view, frame))
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
    if (cleanEnd && offset === bytes.length) {
      return { header, records, lastSaveSeq, validEnd, tornTail: undefined }
    }
    throw corrupt(offset, cleanEnd ? "data after the end of a sealed segment" : reason)
  }
  const foreign = findForeignRecord(bytes, view, offset, lastSaveSeq + 1)
  if (foreign !== undefined) {
    const what = cleanEnd ? "zeroed records" : reason
    throw corrupt(offset, `${what} before a record of another save (at ${foreign})`)
  }
  if (cleanEnd && firstNonZero(bytes, offset, bytes.length) === bytes.length) {
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
function findForeignRecord(
  bytes: Uint8Array, view: DataView, from: number, tornSaveSeq: number,
): number | undefined {
  let at = from
  while (at < bytes.length) {
    at = firstNonZero(bytes, at, bytes.length) & ~7
    if (at >= bytes.length) return undefined
    const frame = readFrame(bytes, view, at, bytes.length)
    if (frame.kind === "Record") {
      if (frame.saveSeq !== tornSaveSeq || frame.type === RecordType.SegmentHeader) return at
      at = frame.next
    } else {
      at += 8
    }
  }
  return undefined
}

function decodeRecord(
  bytes: Uint8Array, view: DataView, frame: FrameRead & { kind: "Record" },
): WalRecord {
  const start = frame.payloadStart
  const end = start + frame.payloadBytes
  switch (frame.type) {
    case RecordType.Entry: return { type: "Entry", entry: readEntry(bytes, view, start, end) }
    case RecordType.HardState:
      return { type: "HardState", hardState: readHardState(view, start, end) }
    case RecordType.SnapshotMarker:
      return { type: "SnapshotMarker", marker: readSnapshotMarker(view, start, end) }
    case RecordType.SegmentHeader: assert(false, "decodeRecord: segment header inside a segment")
  }
}
