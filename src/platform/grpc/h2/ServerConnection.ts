// The server side of one HTTP/2 connection (RFC 9113), as gRPC uses it: frames, HPACK decoding,
// flow control in both directions and the life of each stream, over one socket.
//
// Why by hand: node:http2 costs ~26 us of CPU per unary call on this machine before any work is
// done (shared/PERF-NOTES.md), half the CPU of a put; its per-stream objects, events and header
// objects are most of that. gRPC needs a small part of HTTP/2 (no push, no priorities, no
// HTTP/1.1, one response shape), so this file does only that part: a call costs a stream object,
// a decoded header list and the frames written for it, and everything written in one turn leaves
// in one socket write. It also accepts an :authority that is a URL (etcdctl 3.4 sends
// "http://host:port"), which nghttp2 refuses.
import type * as net from "node:net"
import { assert } from "../../../assert.ts"
import {
  CONNECTION_PREFACE, DEFAULT_WINDOW_BYTES, ErrorCode, FRAME_HEADER_BYTES, FRAME_PAYLOAD_BYTES_MAX_MAX,
  FRAME_PAYLOAD_BYTES_MIN_MAX, FrameFlag, FrameType, PRIORITY_BYTES, Setting, WINDOW_BYTES_MAX, frame, writeFrameHeader,
} from "./Frame.ts"
import { HpackDecoder } from "./HpackDecoder.ts"
import { HpackError } from "./HpackError.ts"
import type { HeaderField } from "./StaticTable.ts"

/** What a stream's owner hears from the client. */
export interface StreamListener {
  /** A DATA payload: a view into the connection's input (copy what outlives the call). */
  onData(chunk: Buffer): void
  /** The client half-closed the stream (END_STREAM): no more data comes. */
  onEnd(): void
  /**
   * The stream is gone, called once: `reset` if it did not complete (reset by either side, or
   * the connection died), false once our END_STREAM went out after (or despite) the client's.
   */
  onClose(reset: boolean): void
}

export interface ConnectionHandler {
  /** A client opened a stream with these request headers. */
  onStream(stream: H2Stream, headers: ReadonlyArray<HeaderField>): StreamListener
}

/** Our receive windows: what a client may send ahead of our WINDOW_UPDATEs. */
export const STREAM_RECEIVE_WINDOW_BYTES = 1 << 20
export const CONNECTION_RECEIVE_WINDOW_BYTES = 4 << 20
/** The largest header block (all its CONTINUATIONs) a client may send; etcd's are ~200 bytes. */
const HEADER_BLOCK_BYTES_MAX = 1 << 20
/** Buffers larger than this are written one by one instead of being joined first. */
const JOIN_BYTES_MAX = 256 << 10
/** How long a closing connection waits for its last bytes to leave before it is destroyed. */
const CLOSE_GRACE_MS = 1000

const SERVER_SETTINGS = (() => {
  const payload = Buffer.alloc(6)
  payload.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 0)
  payload.writeUInt32BE(STREAM_RECEIVE_WINDOW_BYTES, 2)
  const windowUpdate = Buffer.alloc(4)
  windowUpdate.writeUInt32BE(CONNECTION_RECEIVE_WINDOW_BYTES - DEFAULT_WINDOW_BYTES, 0)
  return Buffer.concat([frame(FrameType.SETTINGS, 0, 0, payload), frame(FrameType.WINDOW_UPDATE, 0, 0, windowUpdate)])
})()
const SETTINGS_ACK = frame(FrameType.SETTINGS, FrameFlag.ACK, 0)
/** An HPACK dynamic table size update to 0: we never index, so our table is always empty. */
const TABLE_SIZE_UPDATE_TO_ZERO = Buffer.from([0x20])

/** The empty queue every stream starts with; never written to. */
const NOTHING_QUEUED: Array<Buffer> = []

class ConnectionError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

/** One request stream. Owned by its connection; the gRPC layer writes its response through it. */
export class H2Stream {
  readonly id: number
  listener: StreamListener | undefined = undefined
  /** Bytes we may still send on this stream (the client's window for it). */
  sendWindow: number
  /** Bytes the client may still send before our next WINDOW_UPDATE. */
  receiveWindow = STREAM_RECEIVE_WINDOW_BYTES
  receivedUnacknowledged = 0
  /** The client sent END_STREAM. */
  remoteEnded = false
  /** We queued our END_STREAM (or reset the stream): nothing more may be sent. */
  localEnded = false
  /** Removed from the connection: fully closed or reset. */
  done = false
  /** DATA payloads waiting for flow-control window, oldest first, and the trailers after them. */
  private queue: Array<Buffer> = NOTHING_QUEUED
  private queueHeadOffset = 0
  private queuedTrailers: Buffer | undefined = undefined
  private readonly connection: ServerConnection

  constructor(connection: ServerConnection, id: number, sendWindow: number) {
    this.connection = connection
    this.id = id
    this.sendWindow = sendWindow
  }

  /** Nothing more can be sent: the response ended, the stream was reset or the connection closed. */
  get closed(): boolean {
    return this.localEnded || this.done
  }

  get blocked(): boolean {
    return this.queue.length !== 0
  }

  /** Response headers (an HPACK block); `endStream` makes it a complete, headers-only response. */
  sendHeaders(block: Buffer, endStream: boolean): void {
    if (this.closed) return
    this.connection.emitHeaders(this.id, block, endStream)
    if (endStream) this.endLocally()
  }

  /**
   * One DATA payload. `frameBuffer` holds FRAME_HEADER_BYTES of room, then the payload: when the
   * windows allow, the frame header is written into the room and the buffer leaves as it is.
   */
  sendData(frameBuffer: Buffer): void {
    if (this.closed) return
    const length = frameBuffer.length - FRAME_HEADER_BYTES
    const connection = this.connection
    if (this.queue.length === 0 && length <= this.sendWindow && length <= connection.sendWindow && length <= connection.peerMaxFrameBytes) {
      this.sendWindow -= length
      connection.sendWindow -= length
      writeFrameHeader(frameBuffer, 0, length, FrameType.DATA, 0, this.id)
      connection.emit(frameBuffer)
      return
    }
    if (this.queue === NOTHING_QUEUED) this.queue = [] // most streams never wait: no array for them
    this.queue.push(frameBuffer.subarray(FRAME_HEADER_BYTES))
    this.drain()
  }

  /**
   * A whole unary response: headers, one DATA payload (with room, as for sendData) and trailers,
   * joined into one buffer when the windows allow.
   */
  sendResponse(headers: Buffer, frameBuffer: Buffer, trailers: Buffer): void {
    if (this.closed) return
    const connection = this.connection
    const length = frameBuffer.length - FRAME_HEADER_BYTES
    const maxFrame = connection.peerMaxFrameBytes
    if (
      connection.tableSizeUpdatePending || headers.length > maxFrame || trailers.length > maxFrame ||
      length > this.sendWindow || length > connection.sendWindow || length > maxFrame
    ) {
      this.sendHeaders(headers, false)
      this.sendData(frameBuffer)
      this.end(trailers)
      return
    }
    this.sendWindow -= length
    connection.sendWindow -= length
    const out = Buffer.allocUnsafe(3 * FRAME_HEADER_BYTES + headers.length + length + trailers.length)
    let at = 0
    writeFrameHeader(out, at, headers.length, FrameType.HEADERS, FrameFlag.END_HEADERS, this.id)
    at += FRAME_HEADER_BYTES
    at += headers.copy(out, at)
    writeFrameHeader(out, at, length, FrameType.DATA, 0, this.id)
    at += FRAME_HEADER_BYTES
    at += frameBuffer.copy(out, at, FRAME_HEADER_BYTES)
    writeFrameHeader(out, at, trailers.length, FrameType.HEADERS, FrameFlag.END_HEADERS | FrameFlag.END_STREAM, this.id)
    at += FRAME_HEADER_BYTES
    at += trailers.copy(out, at)
    assert(at === out.length, "H2Stream: response size")
    connection.emit(out)
    this.endLocally()
  }

  /** Ends the response with trailers (an HPACK block), after any DATA still waiting for window. */
  end(trailers: Buffer): void {
    if (this.closed) return
    if (this.queue.length === 0) {
      this.connection.emitHeaders(this.id, trailers, true)
      this.endLocally()
      return
    }
    this.queuedTrailers = trailers
    this.localEnded = true // no more sends; the trailers leave when the queue drains
  }

  /** Resets the stream (RST_STREAM); its listener hears onClose(true). */
  reset(code: ErrorCode): void {
    if (this.done) return
    this.connection.emitReset(this.id, code)
    this.finish(true)
  }

  /** Sends what the windows allow of the queue, then the trailers once it is empty. */
  drain(): void {
    const connection = this.connection
    while (this.queue.length !== 0) {
      const head = this.queue[0]!
      const window = Math.min(this.sendWindow, connection.sendWindow)
      if (window <= 0) break
      const length = Math.min(head.length - this.queueHeadOffset, window, connection.peerMaxFrameBytes)
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
      writeFrameHeader(header, 0, length, FrameType.DATA, 0, this.id)
      connection.emit(header)
      connection.emit(head.subarray(this.queueHeadOffset, this.queueHeadOffset + length))
      this.sendWindow -= length
      connection.sendWindow -= length
      this.queueHeadOffset += length
      if (this.queueHeadOffset === head.length) {
        this.queue.shift()
        this.queueHeadOffset = 0
      }
    }
    if (this.queue.length !== 0) {
      connection.blockedStreams.add(this)
      return
    }
    connection.blockedStreams.delete(this)
    const trailers = this.queuedTrailers
    if (trailers !== undefined && !this.done) {
      this.queuedTrailers = undefined
      connection.emitHeaders(this.id, trailers, true)
      this.endLocally()
    }
  }

  /** The client half-closed. */
  remoteEnd(): void {
    this.remoteEnded = true
    this.listener?.onEnd()
  }

  /** Reset by the client, or the connection is gone. */
  abort(): void {
    if (!this.done) this.finish(true)
  }

  /** Our END_STREAM went out. A client still sending is told to stop (RFC 9113 section 8.1). */
  private endLocally(): void {
    this.localEnded = true
    if (!this.remoteEnded) this.connection.emitReset(this.id, ErrorCode.NO_ERROR)
    this.finish(false)
  }

  private finish(reset: boolean): void {
    this.done = true
    this.localEnded = true
    this.queue = NOTHING_QUEUED
    this.queuedTrailers = undefined
    this.connection.forget(this)
    this.listener?.onClose(reset)
  }
}

export interface ServerConnectionOptions {
  /** Why a connection was closed on an error (the caller decides the level). */
  readonly log?: ((message: string) => void) | undefined
  /** The socket closed: the connection is over. */
  readonly onClosed?: (connection: ServerConnection) => void
}

export class ServerConnection {
  /** Bytes we may still send on the connection (the client's connection window). */
  sendWindow = DEFAULT_WINDOW_BYTES
  /** The client's SETTINGS_MAX_FRAME_SIZE. */
  peerMaxFrameBytes = FRAME_PAYLOAD_BYTES_MIN_MAX
  /** The client changed SETTINGS_HEADER_TABLE_SIZE: our next header block starts with an update. */
  tableSizeUpdatePending = false
  readonly blockedStreams = new Set<H2Stream>()

  private readonly socket: net.Socket
  private readonly handler: ConnectionHandler
  private readonly options: ServerConnectionOptions
  private readonly streams = new Map<number, H2Stream>()
  private readonly decoder = new HpackDecoder()
  private peerInitialWindow = DEFAULT_WINDOW_BYTES
  private receiveWindow = CONNECTION_RECEIVE_WINDOW_BYTES
  private receivedUnacknowledged = 0
  private lastStreamId = 0
  private prefaceSeen = false
  private settingsSeen = false
  private input: Buffer | undefined = undefined
  /** A header block arriving in CONTINUATION frames. */
  private headerBlock: { streamId: number; endStream: boolean; fragments: Array<Buffer>; bytes: number } | undefined = undefined
  private output: Array<Buffer> = []
  private outputBytes = 0
  private flushScheduled = false
  private closing = false
  private closed = false
  private socketEnding = false
  private peerGoingAway = false
  private readonly flushBound = (): void => this.flush()

  constructor(socket: net.Socket, handler: ConnectionHandler, options: ServerConnectionOptions = {}) {
    this.socket = socket
    this.handler = handler
    this.options = options
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => this.onInput(chunk))
    socket.on("error", () => {}) // "close" follows; a reset by a vanished client is normal
    socket.on("close", () => this.onSocketClose())
    this.emit(SERVER_SETTINGS)
  }

  /** Graceful close: GOAWAY(NO_ERROR), open streams reset, socket ended. */
  close(): void {
    if (this.closing) return
    this.goAway(ErrorCode.NO_ERROR, "")
  }

  // --- output -------------------------------------------------------------------------------

  emit(bytes: Buffer): void {
    if (this.closed) return
    this.output.push(bytes)
    this.outputBytes += bytes.length
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(this.flushBound)
    }
  }

  emitHeaders(streamId: number, block: Buffer, endStream: boolean): void {
    if (this.tableSizeUpdatePending) {
      this.tableSizeUpdatePending = false
      block = Buffer.concat([TABLE_SIZE_UPDATE_TO_ZERO, block])
    }
    const endStreamFlag = endStream ? FrameFlag.END_STREAM : 0
    if (block.length <= this.peerMaxFrameBytes) {
      const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + block.length)
      writeFrameHeader(out, 0, block.length, FrameType.HEADERS, FrameFlag.END_HEADERS | endStreamFlag, streamId)
      block.copy(out, FRAME_HEADER_BYTES)
      this.emit(out)
      return
    }
    for (let at = 0; at < block.length; at += this.peerMaxFrameBytes) {
      const fragment = block.subarray(at, at + this.peerMaxFrameBytes)
      const last = at + fragment.length === block.length
      const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION
      this.emit(frame(type, (at === 0 ? endStreamFlag : 0) | (last ? FrameFlag.END_HEADERS : 0), streamId, fragment))
    }
  }

  emitReset(streamId: number, code: ErrorCode): void {
    const payload = Buffer.allocUnsafe(4)
    payload.writeUInt32BE(code, 0)
    this.emit(frame(FrameType.RST_STREAM, 0, streamId, payload))
  }

  private emitWindowUpdate(streamId: number, increment: number): void {
    const payload = Buffer.allocUnsafe(4)
    payload.writeUInt32BE(increment, 0)
    this.emit(frame(FrameType.WINDOW_UPDATE, 0, streamId, payload))
  }

  private flush(): void {
    this.flushScheduled = false
    const output = this.output
    if (output.length === 0) return
    const bytes = this.outputBytes
    this.output = []
    this.outputBytes = 0
    if (this.socket.destroyed || this.socket.writableEnded) return
    if (output.length === 1) this.socket.write(output[0]!)
    else if (bytes <= JOIN_BYTES_MAX) this.socket.write(Buffer.concat(output, bytes))
    else {
      this.socket.cork()
      for (const chunk of output) this.socket.write(chunk)
      this.socket.uncork()
    }
  }

  forget(stream: H2Stream): void {
    this.streams.delete(stream.id)
    this.blockedStreams.delete(stream)
    if (this.peerGoingAway && this.streams.size === 0) this.endSocket()
  }

  // --- input --------------------------------------------------------------------------------

  private onInput(chunk: Buffer): void {
    if (this.closing) return
    const buffer = this.input === undefined ? chunk : Buffer.concat([this.input, chunk])
    this.input = undefined
    let at = 0
    try {
      if (!this.prefaceSeen) {
        const seen = Math.min(buffer.length, CONNECTION_PREFACE.length)
        if (!buffer.subarray(0, seen).equals(CONNECTION_PREFACE.subarray(0, seen))) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "not an HTTP/2 client (bad connection preface)")
        }
        if (seen < CONNECTION_PREFACE.length) {
          this.input = buffer
          return
        }
        this.prefaceSeen = true
        at = CONNECTION_PREFACE.length
      }
      while (buffer.length - at >= FRAME_HEADER_BYTES) {
        const length = (buffer[at]! << 16) | (buffer[at + 1]! << 8) | buffer[at + 2]!
        if (length > FRAME_PAYLOAD_BYTES_MIN_MAX) {
          throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes over the ${FRAME_PAYLOAD_BYTES_MIN_MAX} allowed`)
        }
        const end = at + FRAME_HEADER_BYTES + length
        if (end > buffer.length) break
        const type = buffer[at + 3]!
        const flags = buffer[at + 4]!
        const streamId = buffer.readUInt32BE(at + 5) & 0x7fffffff
        const payload = buffer.subarray(at + FRAME_HEADER_BYTES, end)
        at = end
        this.onFrame(type, flags, streamId, payload)
        if (this.closing) return
      }
    } catch (error) {
      if (error instanceof ConnectionError) return this.goAway(error.code, error.message)
      throw error
    }
    if (at < buffer.length) this.input = at === 0 ? buffer : buffer.subarray(at)
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.headerBlock !== undefined && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `frame type ${type} inside a header block (CONTINUATION expected)`)
    }
    if (!this.settingsSeen && type !== FrameType.SETTINGS) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "the client preface must end with SETTINGS")
    }
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, streamId, payload)
      case FrameType.HEADERS:
        return this.onHeaders(flags, streamId, payload)
      case FrameType.PRIORITY:
        if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0")
        if (payload.length !== PRIORITY_BYTES) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY of the wrong length")
        return // priorities are advisory; gRPC has no use for them
      case FrameType.RST_STREAM:
        return this.onResetStream(streamId, payload)
      case FrameType.SETTINGS:
        return this.onSettings(flags, streamId, payload)
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client")
      case FrameType.PING:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream")
        if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING of the wrong length")
        if ((flags & FrameFlag.ACK) === 0) this.emit(frame(FrameType.PING, FrameFlag.ACK, 0, payload))
        return
      case FrameType.GOAWAY:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream")
        this.peerGoingAway = true
        if (this.streams.size === 0) this.endSocket()
        return
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload)
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, streamId, payload)
      default:
        return // unknown frame types are ignored (RFC 9113 section 5.5)
    }
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0")
    // Flow control counts the whole payload, padding included.
    const length = payload.length
    if (length > this.receiveWindow) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window")
    this.receiveWindow -= length
    this.receivedUnacknowledged += length
    if (this.receivedUnacknowledged >= CONNECTION_RECEIVE_WINDOW_BYTES / 4) {
      this.emitWindowUpdate(0, this.receivedUnacknowledged)
      this.receiveWindow += this.receivedUnacknowledged
      this.receivedUnacknowledged = 0
    }
    const data = (flags & FrameFlag.PADDED) === 0 ? payload : unpadded(payload, "DATA")
    const stream = this.streams.get(streamId)
    if (stream === undefined) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${streamId}`)
      return // a stream we already closed: the client had sent this before it knew
    }
    if (stream.remoteEnded) return stream.reset(ErrorCode.STREAM_CLOSED)
    if (length > stream.receiveWindow) return stream.reset(ErrorCode.FLOW_CONTROL_ERROR)
    stream.receiveWindow -= length
    const endStream = (flags & FrameFlag.END_STREAM) !== 0
    if (!endStream) {
      stream.receivedUnacknowledged += length
      if (stream.receivedUnacknowledged >= STREAM_RECEIVE_WINDOW_BYTES / 2) {
        this.emitWindowUpdate(streamId, stream.receivedUnacknowledged)
        stream.receiveWindow += stream.receivedUnacknowledged
        stream.receivedUnacknowledged = 0
      }
    }
    if (data.length !== 0) stream.listener?.onData(data)
    if (endStream && !stream.done) stream.remoteEnd()
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0")
    let fragment = (flags & FrameFlag.PADDED) === 0 ? payload : unpadded(payload, "HEADERS")
    if ((flags & FrameFlag.PRIORITY) !== 0) {
      if (fragment.length < PRIORITY_BYTES) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short for its priority")
      fragment = fragment.subarray(PRIORITY_BYTES)
    }
    const endStream = (flags & FrameFlag.END_STREAM) !== 0
    if ((flags & FrameFlag.END_HEADERS) !== 0) return this.onHeaderBlock(streamId, endStream, fragment)
    this.headerBlock = { streamId, endStream, fragments: [fragment], bytes: fragment.length }
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const block = this.headerBlock
    if (block === undefined || block.streamId !== streamId) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `CONTINUATION on stream ${streamId} without HEADERS`)
    }
    block.fragments.push(payload)
    block.bytes += payload.length
    if (block.bytes > HEADER_BLOCK_BYTES_MAX) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block over ${HEADER_BLOCK_BYTES_MAX} bytes`)
    }
    if ((flags & FrameFlag.END_HEADERS) === 0) return
    this.headerBlock = undefined
    this.onHeaderBlock(streamId, block.endStream, Buffer.concat(block.fragments, block.bytes))
  }

  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    // Every block is decoded, whatever becomes of its stream: the HPACK table depends on it.
    let fields: ReadonlyArray<HeaderField>
    try {
      fields = this.decoder.decode(block)
    } catch (error) {
      if (error instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `bad header block: ${error.message}`)
      throw error
    }
    const open = this.streams.get(streamId)
    if (open !== undefined) {
      // Trailers from the client: they must end the stream.
      if (!endStream || open.remoteEnded) return open.reset(ErrorCode.PROTOCOL_ERROR)
      return open.remoteEnd()
    }
    if (streamId % 2 === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `client stream ${streamId} is even`)
    if (streamId <= this.lastStreamId) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${streamId}, not above the last stream ${this.lastStreamId}`)
    }
    this.lastStreamId = streamId
    if (this.peerGoingAway) return this.emitReset(streamId, ErrorCode.REFUSED_STREAM)
    const stream = new H2Stream(this, streamId, this.peerInitialWindow)
    this.streams.set(streamId, stream)
    stream.listener = this.handler.onStream(stream, fields)
    if (endStream && !stream.done) stream.remoteEnd()
  }

  private onResetStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0")
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM of the wrong length")
    if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`)
    this.streams.get(streamId)?.abort()
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream")
    if ((flags & FrameFlag.ACK) !== 0) {
      if (payload.length !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
      return
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6")
    this.settingsSeen = true
    let windowDelta = 0
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at)
      const value = payload.readUInt32BE(at + 2)
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          this.tableSizeUpdatePending = true
          break
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1")
          break
        case Setting.INITIAL_WINDOW_SIZE:
          if (value > WINDOW_BYTES_MAX) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1")
          windowDelta += value - this.peerInitialWindow
          this.peerInitialWindow = value
          break
        case Setting.MAX_FRAME_SIZE:
          if (value < FRAME_PAYLOAD_BYTES_MIN_MAX || value > FRAME_PAYLOAD_BYTES_MAX_MAX) {
            throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`)
          }
          this.peerMaxFrameBytes = value
          break
        default:
          break // MAX_CONCURRENT_STREAMS limits pushes (we send none); the rest are advisory or unknown
      }
    }
    this.emit(SETTINGS_ACK)
    if (windowDelta === 0) return
    for (const stream of this.streams.values()) {
      stream.sendWindow += windowDelta
      if (stream.sendWindow > WINDOW_BYTES_MAX) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "a stream window over 2^31-1")
    }
    if (windowDelta > 0) this.drainBlocked()
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE of the wrong length")
    const increment = payload.readUInt32BE(0) & 0x7fffffff
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on the connection")
      this.sendWindow += increment
      if (this.sendWindow > WINDOW_BYTES_MAX) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window over 2^31-1")
      return this.drainBlocked()
    }
    const stream = this.streams.get(streamId)
    if (stream === undefined) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`)
      return
    }
    if (increment === 0) return stream.reset(ErrorCode.PROTOCOL_ERROR)
    stream.sendWindow += increment
    if (stream.sendWindow > WINDOW_BYTES_MAX) return stream.reset(ErrorCode.FLOW_CONTROL_ERROR)
    if (stream.blocked) stream.drain()
  }

  private drainBlocked(): void {
    for (const stream of [...this.blockedStreams]) {
      if (this.sendWindow <= 0) return
      stream.drain()
    }
  }

  // --- closing ------------------------------------------------------------------------------

  private goAway(code: ErrorCode, reason: string): void {
    if (this.closing) return
    this.closing = true
    if (code !== ErrorCode.NO_ERROR) {
      const { remoteAddress, remotePort } = this.socket
      this.options.log?.(`closing client connection from ${remoteAddress}:${remotePort}: ${reason} (HTTP/2 error ${code})`)
    }
    const debug = Buffer.from(reason, "utf8")
    const payload = Buffer.allocUnsafe(8 + debug.length)
    payload.writeUInt32BE(this.lastStreamId, 0)
    payload.writeUInt32BE(code, 4)
    debug.copy(payload, 8)
    this.emit(frame(FrameType.GOAWAY, 0, 0, payload))
    this.abortStreams()
    this.endSocket()
  }

  private endSocket(): void {
    if (this.socketEnding) return
    this.socketEnding = true
    this.flush()
    this.socket.end()
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref()
  }

  private abortStreams(): void {
    for (const stream of [...this.streams.values()]) stream.abort()
  }

  private onSocketClose(): void {
    if (this.closed) return
    this.closing = true
    this.abortStreams()
    this.closed = true
    this.output = []
    this.options.onClosed?.(this)
  }
}

/** The payload of a PADDED frame without its pad-length byte and padding. */
function unpadded(payload: Buffer, type: string): Buffer {
  if (payload.length === 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `PADDED ${type} without a pad length`)
  const padding = payload[0]!
  if (padding >= payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `${type} padding longer than its payload`)
  return payload.subarray(1, payload.length - padding)
}
