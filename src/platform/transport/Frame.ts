// Frames on a peer connection: a 9-byte header, then the payload.
//   payload length u32 LE | frame type u8 | CRC-32C u32 LE of (type byte, payload)
// The length is checked against the receiver's maximum before any payload is buffered, and the
// checksum before the payload is decoded, so a hostile or corrupted stream costs one header.
import { assert } from "../../assert.ts"
import { crc32c } from "../wal/Crc32c.ts"
import type { ByteWriter } from "./ByteWriter.ts"

export const FrameType = {
  /** Dialer → listener, first frame: protocol version, cluster ID, sender and expected receiver. */
  Hello: 1,
  HelloAccepted: 2,
  /** Listener → dialer: why the connection is refused; the listener then closes it. */
  HelloRefused: 3,
  /** One Raft message (an InstallSnapshotRequest only if it fits one chunk). */
  RaftMessage: 4,
  /** A large InstallSnapshotRequest without its data; SnapshotChunk frames carry the data. */
  SnapshotHead: 5,
  SnapshotChunk: 6,
  /** Application: proposals a follower forwards to the leader. */
  Forward: 7,
  ReadIndexRequest: 8,
  ReadIndexResponse: 9,
  /** Instead of a Hello: a member about to join asks for the cluster ID and members. */
  ClusterInfoRequest: 10,
  /** The answer to ClusterInfoRequest; the listener then closes the connection. */
  ClusterInfo: 11,
  /** Application: a request for another member to serve (a follower's call to the leader). */
  Call: 12,
  CallResult: 13,
} as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]

export const frameTypeMax = 13
export const frameHeaderBytes = 9

// The CRC of the type byte alone, per type: the seed the payload's checksum continues from.
const typeSeeds = Array.from({ length: frameTypeMax + 1 }, (_, type) => crc32c(Uint8Array.of(type)))

export function frameChecksum(type: FrameType, payload: Uint8Array): number {
  return crc32c(payload, typeSeeds[type]!)
}

/** Starts a frame in `w`: reserves its header. Returns the frame's start for `endFrame`. */
export function beginFrame(w: ByteWriter, type: FrameType): number {
  const start = w.length
  w.u32(0)
  w.u8(type)
  w.u32(0)
  return start
}

/** Fills in the header of the frame begun at `start`; returns its payload length. */
export function endFrame(w: ByteWriter, start: number): number {
  const payloadStart = start + frameHeaderBytes
  const payloadBytes = w.length - payloadStart
  assert(payloadBytes >= 0, "endFrame: the frame's header is missing")
  const type = w.view(start + 4)[0]! as FrameType
  w.patchU32(start, payloadBytes)
  w.patchU32(start + 5, frameChecksum(type, w.view(payloadStart)))
  return payloadBytes
}

/** A header on its own, for a payload written apart (a snapshot chunk sent without a copy). */
export function frameHeader(type: FrameType, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(frameHeaderBytes)
  header.writeUInt32LE(payload.length, 0)
  header.writeUInt8(type, 4)
  header.writeUInt32LE(frameChecksum(type, payload), 5)
  return header
}
