// Encodes one save (a snapshot marker, entries, a hard state) into a single buffer of framed
// records, so that it reaches the disk with one write.
import { assert } from "../../assert.ts"
import type { Entry, HardState } from "../../raft/Types.ts"
import { frameBytes, frameHeaderBytes, RecordType, sealFrame } from "./RecordFrame.ts"
import {
  entryPayloadBytes, hardStateBytes, segmentHeaderBytes, snapshotMarkerBytes, writeEntry,
  writeHardState, writeSegmentHeader, writeSnapshotMarker,
} from "./RecordCodec.ts"
import type { SegmentHeader, SnapshotMarker } from "./RecordCodec.ts"

export interface SaveContent {
  readonly snapshotMarker: SnapshotMarker | undefined
  readonly entries: ReadonlyArray<Entry>
  readonly hardState: HardState | undefined
}

export function saveRecordCount(save: SaveContent): number {
  return (save.snapshotMarker === undefined ? 0 : 1) + save.entries.length +
    (save.hardState === undefined ? 0 : 1)
}

export function saveBytes(save: SaveContent): number {
  let total = save.snapshotMarker === undefined ? 0 : frameBytes(snapshotMarkerBytes)
  for (const e of save.entries) total += frameBytes(entryPayloadBytes(e))
  if (save.hardState !== undefined) total += frameBytes(hardStateBytes)
  return total
}

/** Frames the records of `save` in this order: snapshot marker, entries, hard state. */
export function encodeSave(save: SaveContent, saveSeq: number): Uint8Array {
  const count = saveRecordCount(save)
  assert(count > 0, "encodeSave: empty save")
  const buffer = new Uint8Array(saveBytes(save))
  const view = new DataView(buffer.buffer)
  let at = 0
  let written = 0
  const seal = (type: RecordType, payloadEnd: number): void => {
    written++
    const payloadBytes = payloadEnd - at - frameHeaderBytes
    at = sealFrame(buffer, view, at, type, payloadBytes, written === count, saveSeq)
  }
  if (save.snapshotMarker !== undefined) {
    const payloadEnd = writeSnapshotMarker(view, at + frameHeaderBytes, save.snapshotMarker)
    seal(RecordType.SnapshotMarker, payloadEnd)
  }
  for (const e of save.entries) {
    seal(RecordType.Entry, writeEntry(buffer, view, at + frameHeaderBytes, e))
  }
  if (save.hardState !== undefined) {
    seal(RecordType.HardState, writeHardState(view, at + frameHeaderBytes, save.hardState))
  }
  assert(at === buffer.length && written === count, "encodeSave: size mismatch")
  return buffer
}

/** A segment header is a save of its own, one record long. */
export function encodeSegmentHeader(header: SegmentHeader, saveSeq: number): Uint8Array {
  const buffer = new Uint8Array(frameBytes(segmentHeaderBytes))
  const view = new DataView(buffer.buffer)
  writeSegmentHeader(view, frameHeaderBytes, header)
  sealFrame(buffer, view, 0, RecordType.SegmentHeader, segmentHeaderBytes, true, saveSeq)
  return buffer
}
