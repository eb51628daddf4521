// Rewrites the header blocks in a client's HTTP/2 byte stream (RFC 9113), passing every other
// byte through as it arrives. Every block is decoded, so the HPACK decoder keeps the client's
// dynamic table; a block is re-encoded only when `repair` asks to change its fields.
//
// Re-encoded blocks are plain literals, so the server's decoder table no longer follows the
// client's once a block has been replaced (the original's indexed inserts never reach it). From
// then on every block on the connection is re-encoded, and the server's table is never read.
import { assert } from "../../../assert.ts"
import { type DecodedField, HpackDecoder } from "./HpackDecoder.ts"
import { encodeLiteralBlock } from "./HpackLiteralEncoder.ts"
import { CONNECTION_PREFACE, FRAME_HEADER_BYTES, FRAME_PAYLOAD_BYTES_MIN_MAX, FrameFlag, FrameType, PRIORITY_BYTES } from "./Frame.ts"

/** The fields to send instead of `fields`, or undefined to leave the block as it is. */
export type HeaderListRepair = (fields: ReadonlyArray<DecodedField>) => ReadonlyArray<DecodedField> | undefined

/** A byte stream that is not HTTP/2 as a client may send it; the connection must be closed. */
export class FrameError extends Error {
  override readonly name = "FrameError"
}

const { HEADERS: TYPE_HEADERS, CONTINUATION: TYPE_CONTINUATION } = FrameType
const { ACK: FLAG_ACK, END_STREAM: FLAG_END_STREAM, END_HEADERS: FLAG_END_HEADERS, PADDED: FLAG_PADDED, PRIORITY: FLAG_PRIORITY } = FrameFlag

export interface RewriterOptions {
  /** A header block (all its frames) larger than this closes the connection. */
  readonly headerBlockBytesMax: number
  /**
   * The client's first SETTINGS ACKs to remove: they answer SETTINGS sent on the server's
   * behalf before node:http2 had the connection, and it would refuse an ACK it never asked for.
   */
  readonly settingsAcksToDrop?: number
}

export class HeaderBlockRewriter {
  private readonly decoder = new HpackDecoder()
  private readonly repair: HeaderListRepair
  private readonly headerBlockBytesMax: number
  private prefaceBytesLeft = CONNECTION_PREFACE.length
  /** Payload bytes of a passed-through frame still to come. */
  private passBytesLeft = 0
  /** A frame header split across chunks. */
  private readonly head = Buffer.alloc(FRAME_HEADER_BYTES)
  private headBytes = 0
  /** A HEADERS or CONTINUATION frame being gathered whole. */
  private frame: Buffer | undefined
  private frameBytes = 0
  /** The frames of the header block in progress (HEADERS, then CONTINUATIONs). */
  private blockFrames: Array<Buffer> = []
  private blockBytes = 0
  private reencoding = false
  private settingsAcksToDrop: number
  repairedBlockCount = 0
  blockCount = 0
  droppedSettingsAckCount = 0

  constructor(repair: HeaderListRepair, options: RewriterOptions) {
    assert(options.headerBlockBytesMax >= FRAME_PAYLOAD_BYTES_MIN_MAX, "HeaderBlockRewriter: block limit under a frame")
    this.repair = repair
    this.headerBlockBytesMax = options.headerBlockBytesMax
    this.settingsAcksToDrop = options.settingsAcksToDrop ?? 0
  }

  /** Whether blocks are re-encoded from now on (a block has been repaired). */
  get rewritesEveryBlock(): boolean {
    return this.reencoding
  }

  /** The bytes to forward for `chunk`, in order. Throws FrameError or HpackError. */
  push(chunk: Buffer): Array<Buffer> {
    const out: Array<Buffer> = []
    let runStart = 0 // chunk[runStart, at) is passed through unchanged
    let at = 0
    const flushRun = (): void => {
      if (at > runStart) out.push(chunk.subarray(runStart, at))
    }
    while (at < chunk.length) {
      const available = chunk.length - at
      if (this.prefaceBytesLeft > 0 || this.passBytesLeft > 0) {
        const taken = Math.min(available, this.prefaceBytesLeft > 0 ? this.prefaceBytesLeft : this.passBytesLeft)
        if (this.prefaceBytesLeft > 0) this.prefaceBytesLeft -= taken
        else this.passBytesLeft -= taken
        at += taken
      } else if (this.frame !== undefined) {
        const taken = Math.min(available, this.frame.length - this.frameBytes)
        chunk.copy(this.frame, this.frameBytes, at, at + taken)
        this.frameBytes += taken
        at += taken
        runStart = at
        if (this.frameBytes === this.frame.length) this.frameGathered(out)
      } else if (this.headBytes === 0 && available >= FRAME_HEADER_BYTES) {
        const header = chunk.subarray(at, at + FRAME_HEADER_BYTES)
        const disposition = this.classify(header)
        if (disposition === "pass") {
          at += FRAME_HEADER_BYTES
        } else {
          flushRun()
          if (disposition === "gather") this.startGathering(header, out)
          at += FRAME_HEADER_BYTES
          runStart = at
        }
      } else {
        // A frame header split across chunks: hold its bytes until it is whole.
        flushRun()
        const taken = Math.min(available, FRAME_HEADER_BYTES - this.headBytes)
        chunk.copy(this.head, this.headBytes, at, at + taken)
        this.headBytes += taken
        at += taken
        runStart = at
        if (this.headBytes < FRAME_HEADER_BYTES) break
        this.headBytes = 0
        const disposition = this.classify(this.head)
        if (disposition === "gather") this.startGathering(this.head, out)
        else if (disposition === "pass") out.push(Buffer.from(this.head))
      }
    }
    if (this.frame === undefined && this.headBytes === 0) flushRun()
    return out
  }

  /**
   * Reads a frame header: a frame carrying a header block is gathered whole, a SETTINGS ACK
   * still to be dropped is dropped (it has no payload), and any other frame is passed through.
   */
  private classify(header: Buffer): "gather" | "pass" | "drop" {
    const length = header.readUIntBE(0, 3)
    const type = header[3]!
    const inBlock = this.blockFrames.length > 0
    if (inBlock && type !== TYPE_CONTINUATION) throw new FrameError("a header block interrupted by another frame")
    if (!inBlock && type === TYPE_CONTINUATION) throw new FrameError("CONTINUATION outside a header block")
    if (type === TYPE_HEADERS || type === TYPE_CONTINUATION) return "gather"
    if (type === FrameType.SETTINGS && header[4]! & FLAG_ACK && length === 0 && this.settingsAcksToDrop > 0) {
      this.settingsAcksToDrop--
      this.droppedSettingsAckCount++
      return "drop"
    }
    this.passBytesLeft = length
    return "pass"
  }

  private startGathering(header: Buffer, out: Array<Buffer>): void {
    const length = header.readUIntBE(0, 3)
    this.blockBytes += FRAME_HEADER_BYTES + length
    if (this.blockBytes > this.headerBlockBytesMax) {
      throw new FrameError(`a header block over ${this.headerBlockBytesMax} bytes`)
    }
    this.frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length)
    header.copy(this.frame, 0)
    this.frameBytes = FRAME_HEADER_BYTES
    if (length === 0) this.frameGathered(out) // an empty CONTINUATION, say: whole already
  }

  private frameGathered(out: Array<Buffer>): void {
    const frame = this.frame
    assert(frame !== undefined && this.frameBytes === frame.length, "HeaderBlockRewriter: frame incomplete")
    this.frame = undefined
    this.frameBytes = 0
    const first = this.blockFrames[0]
    if (first !== undefined && first.readUInt32BE(5) !== frame.readUInt32BE(5)) {
      throw new FrameError("CONTINUATION on another stream than its HEADERS")
    }
    this.blockFrames.push(frame)
    if ((frame[4]! & FLAG_END_HEADERS) === 0) return
    const frames = this.blockFrames
    this.blockFrames = []
    this.blockBytes = 0
    this.blockCount++
    out.push(...this.rewriteBlock(frames))
  }

  private rewriteBlock(frames: ReadonlyArray<Buffer>): ReadonlyArray<Buffer> {
    const headers = frames[0]!
    const flags = headers[4]!
    const payload = headers.subarray(FRAME_HEADER_BYTES)
    let start = 0
    let end = payload.length
    if (flags & FLAG_PADDED) {
      if (payload.length < 1) throw new FrameError("PADDED HEADERS without a pad length")
      start = 1
      end -= payload[0]!
    }
    const priority = flags & FLAG_PRIORITY ? payload.subarray(start, start + PRIORITY_BYTES) : undefined
    if (priority !== undefined) start += PRIORITY_BYTES
    if (end < start) throw new FrameError("HEADERS padding or priority longer than the frame")
    const fragments = [payload.subarray(start, end), ...frames.slice(1).map((f) => f.subarray(FRAME_HEADER_BYTES))]
    const fields = this.decoder.decode(fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments))
    const repaired = this.repair(fields)
    if (repaired !== undefined) {
      this.reencoding = true
      this.repairedBlockCount++
    }
    if (!this.reencoding) return frames
    return headerFrames(headers.readUInt32BE(5), flags & FLAG_END_STREAM, priority, encodeLiteralBlock(repaired ?? fields))
  }
}

/** A block as HEADERS + CONTINUATION frames of at most the minimum maximum frame size. */
function headerFrames(streamWord: number, endStream: number, priority: Buffer | undefined, block: Buffer): Array<Buffer> {
  const frames: Array<Buffer> = []
  let at = 0
  do {
    const isFirst = frames.length === 0
    const prefix = isFirst && priority !== undefined ? priority : undefined
    const room = FRAME_PAYLOAD_BYTES_MIN_MAX - (prefix?.length ?? 0)
    const take = Math.min(room, block.length - at)
    const isLast = at + take === block.length
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + (prefix?.length ?? 0) + take)
    frame.writeUIntBE(frame.length - FRAME_HEADER_BYTES, 0, 3)
    frame[3] = isFirst ? TYPE_HEADERS : TYPE_CONTINUATION
    frame[4] = (isFirst ? endStream | (prefix !== undefined ? FLAG_PRIORITY : 0) : 0) | (isLast ? FLAG_END_HEADERS : 0)
    frame.writeUInt32BE(streamWord, 5)
    prefix?.copy(frame, FRAME_HEADER_BYTES)
    block.copy(frame, FRAME_HEADER_BYTES + (prefix?.length ?? 0), at, at + take)
    frames.push(frame)
    at += take
  } while (at < block.length)
  return frames
}
