// Cuts a peer's byte stream into frames. Bytes arrive in arbitrary pieces; whole frames inside a
// piece are handed out as views without copying, and only a frame that spans pieces is copied
// together once it is complete.
import { assert } from "../../assert.ts"
import { frameChecksum, frameHeaderBytes, frameTypeMax, type FrameType } from "./Frame.ts"
import { PeerProtocolError } from "./ProtocolError.ts"

export type FrameHandler = (type: FrameType, payload: Uint8Array) => void

export class FrameDecoder {
  private readonly payloadBytesMax: number
  /** Received bytes not yet part of a whole frame, oldest first. */
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** The size (header included) the pending frame must reach; 0 while its header is unread. */
  private neededBytes = 0

  constructor(payloadBytesMax: number) {
    assert(payloadBytesMax > 0, "FrameDecoder: maximum payload must be positive")
    this.payloadBytesMax = payloadBytesMax
  }

  /** Feeds bytes; calls `onFrame` per complete frame. Throws PeerProtocolError on a bad one. */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    if (this.pendingBytes === 0) return this.parse(chunk, onFrame)
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    if (this.neededBytes === 0 && this.pendingBytes >= frameHeaderBytes) {
      this.neededBytes = frameHeaderBytes + this.checkedPayloadBytes(this.joinPending())
    }
    if (this.neededBytes === 0 || this.pendingBytes < this.neededBytes) return
    const joined = this.joinPending()
    this.pending = []
    this.pendingBytes = 0
    this.neededBytes = 0
    this.parse(joined, onFrame)
  }

  private joinPending(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)]
    return this.pending[0]!
  }

  private checkedPayloadBytes(bytes: Buffer, at = 0): number {
    const payloadBytes = bytes.readUInt32LE(at)
    if (payloadBytes > this.payloadBytesMax) {
      const max = this.payloadBytesMax
      throw new PeerProtocolError(`frame of ${payloadBytes} bytes exceeds the maximum of ${max}`)
    }
    const type = bytes[at + 4]!
    if (type === 0 || type > frameTypeMax) throw new PeerProtocolError(`unknown frame type ${type}`)
    return payloadBytes
  }

  /** Hands out the whole frames in `bytes`; keeps a trailing partial frame pending. */
  private parse(bytes: Buffer, onFrame: FrameHandler): void {
    let at = 0
    while (bytes.length - at >= frameHeaderBytes) {
      const payloadBytes = this.checkedPayloadBytes(bytes, at)
      const end = at + frameHeaderBytes + payloadBytes
      if (end > bytes.length) {
        this.neededBytes = frameHeaderBytes + payloadBytes
        break
      }
      const type = bytes[at + 4]! as FrameType
      const payload = bytes.subarray(at + frameHeaderBytes, end)
      if (frameChecksum(type, payload) !== bytes.readUInt32LE(at + 5)) {
        throw new PeerProtocolError(`frame checksum mismatch (type ${type}, ${payloadBytes} bytes)`)
      }
      at = end
      onFrame(type, payload)
    }
    if (at < bytes.length) {
      this.pending = [bytes.subarray(at)]
      this.pendingBytes = bytes.length - at
    }
  }
}
