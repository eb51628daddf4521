// The frame around every WAL record. Little-endian, and every frame starts 8-byte aligned, so a
// 16-byte header never straddles a 512-byte sector (a sector is written whole or not at all):
//
//   0  u32  crc32c of bytes [4, 16 + paddedLength): the rest of the header and the padded payload
//   4  u32  payload length in bytes (the payload is then zero-padded to a multiple of 8)
//   8  u8   record type (0 is never written: an all-zero header marks the end of written data)
//   9  u8   flags: bit 0 = last record of its save
//  10  u16  save sequence number, high 16 bits
//  12  u32  save sequence number, low 32 bits
//
// Why a per-record CRC plus a save sequence number rather than etcd's chained CRC: every save is
// one write, saves are strictly serialized, and the sequence number tells recovery which save a
// surviving record belongs to. A damaged record followed only by records of the same (last,
// unacknowledged) save is a torn write; a damaged record followed by any record of another save
// is corruption of acknowledged data. A chained CRC cannot tell these apart once a link breaks.
import { assert } from "../../assert.ts"
import { crc32c } from "./Crc32c.ts"

export const frameHeaderBytes = 16
export const frameAlignmentBytes = 8
/** Largest payload accepted in one record; larger lengths read back mean damage. */
export const recordPayloadBytesMax = 256 << 20
/** Save sequence numbers fit in 48 bits. */
export const saveSeqMax = 2 ** 48 - 1

export const RecordType = {
  SegmentHeader: 1,
  Entry: 2,
  HardState: 3,
  SnapshotMarker: 4,
} as const
export type RecordType = (typeof RecordType)[keyof typeof RecordType]
const recordTypeMax = 4

export const flagLastOfSave = 1

export const paddedBytes = (payloadBytes: number): number => (payloadBytes + 7) & ~7
export const frameBytes = (payloadBytes: number): number =>
  frameHeaderBytes + paddedBytes(payloadBytes)

/**
 * Writes the header of a frame whose payload is already in place at `offset + 16`, zeroes the
 * padding, and computes the checksum.
 */
export function sealFrame(
  buffer: Uint8Array, view: DataView, offset: number, type: RecordType, payloadBytes: number,
  lastOfSave: boolean, saveSeq: number,
): number {
  assert(offset % frameAlignmentBytes === 0, "sealFrame: unaligned frame")
  assert(payloadBytes <= recordPayloadBytesMax, "sealFrame: payload too large")
  assert(Number.isSafeInteger(saveSeq) && saveSeq >= 0, "sealFrame: bad save seq")
  assert(saveSeq <= saveSeqMax, "sealFrame: save seq beyond 48 bits")
  const end = offset + frameBytes(payloadBytes)
  buffer.fill(0, offset + frameHeaderBytes + payloadBytes, end)
  view.setUint32(offset + 4, payloadBytes, true)
  view.setUint8(offset + 8, type)
  view.setUint8(offset + 9, lastOfSave ? flagLastOfSave : 0)
  view.setUint16(offset + 10, Math.floor(saveSeq / 2 ** 32), true)
  view.setUint32(offset + 12, saveSeq >>> 0, true)
  view.setUint32(offset, crc32c(buffer, 0, offset + 4, end), true)
  return end
}

export type FrameRead =
  | {
      readonly kind: "Record"
      readonly type: RecordType
      readonly lastOfSave: boolean
      readonly saveSeq: number
      readonly payloadStart: number
      readonly payloadBytes: number
      /** Offset of the next frame. */
      readonly next: number
    }
  /** An all-zero header: nothing was written here (the preallocated tail). */
  | { readonly kind: "Zero" }
  /** Not a whole, intact frame: cut short by the end of the file, or its checksum fails. */
  | { readonly kind: "Damaged"; readonly reason: string }

/** Reads the frame at `offset` of `bytes[0, end)` and verifies its checksum. */
export function readFrame(
  bytes: Uint8Array, view: DataView, offset: number, end: number,
): FrameRead {
  assert(offset % frameAlignmentBytes === 0, "readFrame: unaligned offset")
  if (offset + frameHeaderBytes > end) {
    if (isZero(bytes, offset, end)) return { kind: "Zero" }
    return { kind: "Damaged", reason: "header cut short" }
  }
  if (isZero(bytes, offset, offset + frameHeaderBytes)) return { kind: "Zero" }
  const payloadBytes = view.getUint32(offset + 4, true)
  const type = view.getUint8(offset + 8)
  const flags = view.getUint8(offset + 9)
  if (type === 0 || type > recordTypeMax || (flags & ~flagLastOfSave) !== 0) {
    return { kind: "Damaged", reason: "bad type or flags" }
  }
  if (payloadBytes > recordPayloadBytesMax) return { kind: "Damaged", reason: "bad length" }
  const next = offset + frameBytes(payloadBytes)
  if (next > end) return { kind: "Damaged", reason: "record cut short" }
  if (crc32c(bytes, 0, offset + 4, next) !== view.getUint32(offset, true)) {
    return { kind: "Damaged", reason: "checksum mismatch" }
  }
  const saveSeq = view.getUint16(offset + 10, true) * 2 ** 32 + view.getUint32(offset + 12, true)
  return {
    kind: "Record",
    type: type as RecordType,
    lastOfSave: (flags & flagLastOfSave) !== 0,
    saveSeq,
    payloadStart: offset + frameHeaderBytes,
    payloadBytes,
    next,
  }
}

export function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false
  return true
}

/** The first offset in [start, end) holding a non-zero byte, or `end`. Compares 4 KiB at a time. */
export function firstNonZero(bytes: Uint8Array, start: number, end: number): number {
  const chunk = 4096
  let i = start
  const zeroAt = (at: number): boolean =>
    Buffer.compare(bytes.subarray(at, at + chunk), zeroChunk) === 0
  while (i + chunk <= end && zeroAt(i)) i += chunk
  while (i < end && bytes[i] === 0) i++
  return i
}
const zeroChunk = new Uint8Array(4096)
