// A minimal HTTP/2 client connection for gRPC load generation, written on a raw TCP socket.
//
// Why not node:http2: its client pays for a stream object, events and header objects per call,
// about as much CPU as the server under test (shared/PERF-NOTES.md), and the load generator runs
// on the same 2 cores as the server. Here a call is a pre-encoded HEADERS + DATA pair whose
// stream id is patched in place, and responses are parsed frame by frame without allocating.
//
// What is left out on purpose: response headers are never HPACK-decoded (requests use literal
// fields that touch no dynamic table, so the decoder state is not needed). A unary call succeeds
// when a gRPC message arrived before END_STREAM; grpc-go and verikv answer errors trailers-only
// (HEADERS with END_STREAM and no DATA), which is reported as a failure.
import * as net from "node:net"
import { assert } from "../../src/assert.ts"

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")
const FRAME_HEADER_BYTES = 9
const Frame = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const
const Flag = { END_STREAM: 0x1, ACK: 0x1, PADDED: 0x8 } as const
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
const WINDOW_MAX = 2 ** 31 - 1
const DEFAULT_WINDOW = 65_535
/** Our receive windows are opened to the maximum; top them up after this much has arrived. */
const RECEIVE_REFILL_BYTES = 2 ** 30

/** What a stream reports back to its owner. */
export interface StreamHandler {
  /** One whole gRPC message (without its 5-byte prefix); `bytes` is only valid during the call. */
  readonly onMessage: (bytes: Buffer, start: number, end: number) => void
  /** The stream ended; `ok` is false on RST_STREAM, GOAWAY or a trailers-only answer. */
  readonly onEnd: (ok: boolean) => void
}

interface OpenStream {
  readonly handler: StreamHandler
  messages: number
  /** A gRPC message split across DATA frames, waiting for the rest. */
  partial: Buffer | undefined
}

function frameHeader(target: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  target.writeUIntBE(length, at, 3)
  target[at + 3] = type
  target[at + 4] = flags
  target.writeUInt32BE(streamId, at + 5)
}

function hpackLiteral(name: string | number, value: string): Buffer {
  // Literal header field without indexing (RFC 7541 6.2.2), no Huffman: touches no dynamic table.
  const valueBytes = Buffer.from(value, "latin1")
  assert(valueBytes.length < 127, "short header values only")
  if (typeof name === "number") {
    assert(name > 0 && name < 15, "a static table index that fits the 4-bit prefix")
    return Buffer.concat([Buffer.from([name, valueBytes.length]), valueBytes])
  }
  const nameBytes = Buffer.from(name, "latin1")
  return Buffer.concat([Buffer.from([0, nameBytes.length]), nameBytes, Buffer.from([valueBytes.length]), valueBytes])
}

/** The HPACK block of a gRPC request; constant for a method and authority. */
export function grpcRequestHeaderBlock(path: string, authority: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
    hpackLiteral(4, path), // :path
    hpackLiteral(1, authority), // :authority
    hpackLiteral("content-type", "application/grpc"),
    hpackLiteral("te", "trailers"),
  ])
}

/**
 * A request as bytes: HEADERS, then (if `message` is given) one DATA frame with the gRPC-framed
 * message. `endStream` closes our side (unary); a watch stream stays open.
 */
export class RequestTemplate {
  readonly bytes: Buffer
  /** Offset of the gRPC message inside `bytes`, for callers that patch it. */
  readonly messageOffset: number
  private readonly dataHeaderOffset: number

  constructor(headerBlock: Buffer, message: Uint8Array, endStream: boolean) {
    const dataLength = 5 + message.length
    this.dataHeaderOffset = FRAME_HEADER_BYTES + headerBlock.length
    this.messageOffset = this.dataHeaderOffset + FRAME_HEADER_BYTES + 5
    this.bytes = Buffer.allocUnsafe(this.messageOffset + message.length)
    frameHeader(this.bytes, 0, headerBlock.length, Frame.HEADERS, 0x4 /* END_HEADERS */, 0)
    headerBlock.copy(this.bytes, FRAME_HEADER_BYTES)
    frameHeader(this.bytes, this.dataHeaderOffset, dataLength, Frame.DATA, endStream ? Flag.END_STREAM : 0, 0)
    this.bytes[this.messageOffset - 5] = 0
    this.bytes.writeUInt32BE(message.length, this.messageOffset - 4)
    this.bytes.set(message, this.messageOffset)
  }

  /** A copy for one stream (the caller may patch its message bytes before sending). */
  forStream(streamId: number): Buffer {
    const copy = Buffer.allocUnsafe(this.bytes.length)
    this.bytes.copy(copy)
    copy.writeUInt32BE(streamId, 5)
    copy.writeUInt32BE(streamId, this.dataHeaderOffset + 5)
    return copy
  }

  get messageBytes(): number {
    return this.bytes.length - this.messageOffset
  }
}

export class Http2Connection {
  private readonly socket: net.Socket
  private readonly streams = new Map<number, OpenStream>()
  private nextStreamId = 1
  private input: Buffer | undefined = undefined
  private outgoing: Array<Buffer> = []
  private flushScheduled = false
  /** Bytes of DATA the peer still accepts on the connection; requests wait when it runs out. */
  private sendWindow = DEFAULT_WINDOW
  private readonly blocked: Array<{ readonly frame: Buffer; readonly dataBytes: number }> = []
  private receivedSinceRefill = 0
  private peerMaxStreams = Number.POSITIVE_INFINITY
  private failure: Error | undefined = undefined
  /** Bytes read from the socket, for the generator's own accounting. */
  bytesRead = 0

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("error", (error) => this.fail(error))
    socket.on("close", () => this.fail(new Error("connection closed")))
    const settings = Buffer.alloc(FRAME_HEADER_BYTES + 12)
    frameHeader(settings, 0, 12, Frame.SETTINGS, 0, 0)
    settings.writeUInt16BE(0x2, 9) // ENABLE_PUSH = 0
    settings.writeUInt32BE(0, 11)
    settings.writeUInt16BE(0x4, 15) // INITIAL_WINDOW_SIZE = max: streams never wait for us
    settings.writeUInt32BE(WINDOW_MAX, 17)
    socket.write(Buffer.concat([PREFACE, settings, windowUpdate(0, WINDOW_MAX - DEFAULT_WINDOW)]))
  }

  static connect(host: string, port: number): Promise<Http2Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port })
      socket.once("error", reject)
      socket.once("connect", () => {
        socket.removeListener("error", reject)
        resolve(new Http2Connection(socket))
      })
    })
  }

  get openStreams(): number {
    return this.streams.size
  }

  /** Opens a stream with a request from `template`; `patch` may edit its message bytes. */
  start(template: RequestTemplate, handler: StreamHandler, patch?: (frame: Buffer, messageOffset: number) => void): void {
    if (this.failure !== undefined) return handler.onEnd(false)
    assert(this.streams.size < this.peerMaxStreams, "the server's MAX_CONCURRENT_STREAMS is respected")
    const streamId = this.nextStreamId
    this.nextStreamId += 2
    assert(streamId < 2 ** 31, "stream ids last for the whole run")
    const frame = template.forStream(streamId)
    if (patch !== undefined) patch(frame, template.messageOffset)
    this.streams.set(streamId, { handler, messages: 0, partial: undefined })
    const dataBytes = 5 + template.messageBytes
    if (this.blocked.length > 0 || dataBytes > this.sendWindow) this.blocked.push({ frame, dataBytes })
    else this.queue(frame, dataBytes)
  }

  close(): void {
    this.failure ??= new Error("closed by the load generator")
    this.socket.destroy()
  }

  private queue(frame: Buffer, dataBytes: number): void {
    this.sendWindow -= dataBytes
    this.outgoing.push(frame)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(() => this.flush())
    }
  }

  private flush(): void {
    this.flushScheduled = false
    if (this.outgoing.length === 0 || this.failure !== undefined) return
    const bytes = this.outgoing.length === 1 ? this.outgoing[0]! : Buffer.concat(this.outgoing)
    this.outgoing = []
    this.socket.write(bytes)
  }

  private fail(error: Error): void {
    this.failure ??= error
    const open = [...this.streams.values()]
    this.streams.clear()
    for (const stream of open) stream.handler.onEnd(false)
  }

  private onData(chunk: Buffer): void {
    this.bytesRead += chunk.length
    const buffer = this.input === undefined ? chunk : Buffer.concat([this.input, chunk])
    let at = 0
    while (buffer.length - at >= FRAME_HEADER_BYTES) {
      const length = buffer.readUIntBE(at, 3)
      const end = at + FRAME_HEADER_BYTES + length
      if (end > buffer.length) break
      this.onFrame(buffer, at, length)
      at = end
    }
    this.input = at === buffer.length ? undefined : Buffer.from(buffer.subarray(at))
    if (this.receivedSinceRefill >= RECEIVE_REFILL_BYTES) {
      this.outgoing.push(windowUpdate(0, this.receivedSinceRefill))
      this.receivedSinceRefill = 0
    }
    this.flush()
  }

  private onFrame(buffer: Buffer, at: number, length: number): void {
    const type = buffer[at + 3]!
    const flags = buffer[at + 4]!
    const streamId = buffer.readUInt32BE(at + 5) & 0x7fffffff
    const payload = at + FRAME_HEADER_BYTES
    switch (type) {
      case Frame.DATA:
        this.receivedSinceRefill += length
        return this.onDataFrame(buffer, payload, length, flags, streamId)
      case Frame.HEADERS:
        if ((flags & Flag.END_STREAM) !== 0) this.endStream(streamId)
        return
      case Frame.RST_STREAM:
        return this.endStream(streamId, false)
      case Frame.SETTINGS:
        if ((flags & Flag.ACK) === 0) this.onSettings(buffer, payload, length)
        return
      case Frame.PING:
        if ((flags & Flag.ACK) === 0) {
          const pong = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8)
          frameHeader(pong, 0, 8, Frame.PING, Flag.ACK, 0)
          buffer.copy(pong, FRAME_HEADER_BYTES, payload, payload + 8)
          this.outgoing.push(pong)
        }
        return
      case Frame.WINDOW_UPDATE:
        if (streamId === 0) this.onWindowUpdate(buffer.readUInt32BE(payload) & 0x7fffffff)
        return
      case Frame.GOAWAY:
        return this.fail(new Error(`GOAWAY, error code ${buffer.readUInt32BE(payload + 4)}`))
      default:
        return // PRIORITY, CONTINUATION (header contents are never read), unknown types
    }
  }

  private onSettings(buffer: Buffer, payload: number, length: number): void {
    for (let at = payload; at + 6 <= payload + length; at += 6) {
      if (buffer.readUInt16BE(at) === SETTINGS_MAX_CONCURRENT_STREAMS) this.peerMaxStreams = buffer.readUInt32BE(at + 2)
    }
    const ack = Buffer.alloc(FRAME_HEADER_BYTES)
    frameHeader(ack, 0, 0, Frame.SETTINGS, Flag.ACK, 0)
    this.outgoing.push(ack)
  }

  private onWindowUpdate(increment: number): void {
    this.sendWindow += increment
    while (this.blocked.length > 0 && this.blocked[0]!.dataBytes <= this.sendWindow) {
      const next = this.blocked.shift()!
      this.queue(next.frame, next.dataBytes)
    }
  }

  private onDataFrame(buffer: Buffer, payload: number, length: number, flags: number, streamId: number): void {
    const stream = this.streams.get(streamId)
    if (stream === undefined) return
    let start = payload
    let end = payload + length
    if ((flags & Flag.PADDED) !== 0) {
      end -= buffer[payload]!
      start += 1
    }
    let source = buffer
    if (stream.partial !== undefined) {
      source = Buffer.concat([stream.partial, buffer.subarray(start, end)])
      start = 0
      end = source.length
      stream.partial = undefined
    }
    while (end - start >= 5) {
      const messageLength = source.readUInt32BE(start + 1)
      if (end - start < 5 + messageLength) break
      stream.messages++
      stream.handler.onMessage(source, start + 5, start + 5 + messageLength)
      start += 5 + messageLength
    }
    if (start < end) stream.partial = Buffer.from(source.subarray(start, end))
    if ((flags & Flag.END_STREAM) !== 0) this.endStream(streamId)
  }

  private endStream(streamId: number, clean = true): void {
    const stream = this.streams.get(streamId)
    if (stream === undefined) return
    this.streams.delete(streamId)
    stream.handler.onEnd(clean && stream.messages > 0 && stream.partial === undefined)
  }
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4)
  frameHeader(frame, 0, 4, Frame.WINDOW_UPDATE, 0, streamId)
  frame.writeUInt32BE(increment, FRAME_HEADER_BYTES)
  return frame
}
