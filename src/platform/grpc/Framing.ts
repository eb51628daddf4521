// gRPC's length-prefixed message framing: 1 byte compressed flag, 4 bytes big-endian length, then
// the message. HTTP/2 DATA frames split and merge messages freely, so the reader reassembles.
import { GrpcError, Status } from "./Status.ts"

export const FRAME_HEADER_BYTES = 5

/** One framed message, ready to write. */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length)
  framed[0] = 0
  framed.writeUInt32BE(message.length, 1)
  framed.set(message, FRAME_HEADER_BYTES)
  return framed
}

/**
 * Reassembles messages from DATA chunks. A message longer than `maxMessageBytes` is refused as
 * soon as its header arrives (nothing of it is buffered), with grpc-go's wording, which is what
 * etcd clients see from etcd.
 */
export class MessageReader {
  private pending: Buffer | undefined = undefined
  private readonly maxMessageBytes: number
  /** What push returns, reused: one array per call instead of one per DATA chunk. */
  private readonly completed: Array<Buffer> = []

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes
  }

  /**
   * Feeds one chunk; returns the messages it completed, in order, in an array that the next push
   * reuses (read it before pushing again). Throws GrpcError on bad frames.
   */
  push(chunk: Buffer): ReadonlyArray<Buffer> {
    let buffer = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    const messages = this.completed
    messages.length = 0
    let offset = 0
    while (buffer.length - offset >= FRAME_HEADER_BYTES) {
      const compressed = buffer[offset]
      const length = buffer.readUInt32BE(offset + 1)
      if (compressed !== 0) {
        throw new GrpcError(Status.UNIMPLEMENTED, "grpc: compressed messages are not supported")
      }
      if (length > this.maxMessageBytes) {
        throw new GrpcError(
          Status.RESOURCE_EXHAUSTED,
          `grpc: received message larger than max (${length} vs. ${this.maxMessageBytes})`,
        )
      }
      const end = offset + FRAME_HEADER_BYTES + length
      if (end > buffer.length) break
      messages.push(buffer.subarray(offset + FRAME_HEADER_BYTES, end))
      offset = end
    }
    if (offset === buffer.length) this.pending = undefined
    else this.pending = offset === 0 ? buffer : Buffer.from(buffer.subarray(offset))
    return messages
  }

  /** True if the stream ended in the middle of a message. */
  get hasPartialMessage(): boolean {
    return this.pending !== undefined
  }
}
