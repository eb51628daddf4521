// A raw HTTP/2 client for testing a server frame by frame (RFC 9113). It writes exactly the bytes
// a test builds, malformed ones included, and records every frame the server sends. Header blocks
// from the server go through an HpackDecoder in order, so its dynamic table follows the server's.
//
// It also checks the server as it goes and records each breach in `violations` (a test asserts
// the list is empty): the first frame is SETTINGS, no frame exceeds the size we allowed, DATA
// stays within the windows we granted, a header block is never interleaved with other frames,
// nothing arrives on a stream after its END_STREAM, and the server opens no streams of its own.
//
// The frame constants are written out here rather than imported from the server's code, so that
// a wrong constant there cannot agree with itself in a test. Every wait is bounded.
import * as net from "node:net"
import * as tls from "node:tls"
import { type DecodedField, HpackDecoder } from "../../src/platform/grpc/h2/HpackDecoder.ts"
import { encodeLiteralBlock } from "../../src/platform/grpc/h2/HpackLiteralEncoder.ts"

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")
export const FRAME_HEADER_BYTES = 9
export const DEFAULT_WINDOW_BYTES = 65535
export const DEFAULT_MAX_FRAME_BYTES = 16384
export const WAIT_MS_DEFAULT = 5000

export const Type = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

export const Flag = { ACK: 0x1, END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
} as const

const TYPE_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]

export interface H2Frame {
  readonly type: number
  readonly flags: number
  readonly streamId: number
  readonly payload: Buffer
}

export type Fields = ReadonlyArray<DecodedField>
export type HeaderPairs = ReadonlyArray<readonly [string, string]>

/** One frame, as bytes. `length` overrides the length field (to lie about it). */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0), length = payload.length): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_BYTES + payload.length)
  out.writeUIntBE(length, 0, 3)
  out[3] = type
  out[4] = flags
  out.writeUInt32BE(streamId >>> 0, 5)
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}

export function settingsPayload(entries: ReadonlyArray<readonly [number, number]>): Buffer {
  const out = Buffer.alloc(6 * entries.length)
  entries.forEach(([id, value], k) => {
    out.writeUInt16BE(id, 6 * k)
    out.writeUInt32BE(value >>> 0, 6 * k + 2)
  })
  return out
}

export function uint32(value: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value >>> 0)
  return out
}

/** A header block of literals without indexing: touches no dynamic table. */
export function literalBlock(pairs: HeaderPairs): Buffer {
  return encodeLiteralBlock(pairs.map(([name, value]) => ({ name, value, neverIndexed: false })))
}

/** gRPC's 5-byte length prefix around a message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length)
  out.writeUInt32BE(message.length, 1)
  out.set(message, 5)
  return out
}

/** Splits gRPC length-prefixed messages; throws on a truncated one. */
export function grpcMessages(data: Buffer): Array<Buffer> {
  const messages: Array<Buffer> = []
  let at = 0
  while (at < data.length) {
    if (data.length - at < 5) throw new Error(`truncated gRPC message header at ${at} of ${data.length}`)
    const length = data.readUInt32BE(at + 1)
    if (at + 5 + length > data.length) throw new Error(`truncated gRPC message at ${at}: ${length} bytes announced, ${data.length - at - 5} present`)
    messages.push(data.subarray(at + 5, at + 5 + length))
    at += 5 + length
  }
  return messages
}

export function field(fields: Fields | undefined, name: string): string | undefined {
  return fields?.find((f) => f.name === name)?.value
}

export function describeFrame(f: H2Frame): string {
  const name = TYPE_NAMES[f.type] ?? `0x${f.type.toString(16)}`
  let detail = ""
  if (f.type === Type.GOAWAY && f.payload.length >= 8) detail = ` last=${f.payload.readUInt32BE(0) & 0x7fffffff} code=${f.payload.readUInt32BE(4)}`
  if (f.type === Type.RST_STREAM && f.payload.length === 4) detail = ` code=${f.payload.readUInt32BE(0)}`
  if (f.type === Type.WINDOW_UPDATE && f.payload.length === 4) detail = ` +${f.payload.readUInt32BE(0) & 0x7fffffff}`
  return `${name}(s=${f.streamId} f=0x${f.flags.toString(16)} len=${f.payload.length}${detail})`
}

/** What came back on one stream. */
export class StreamRecord {
  readonly frames: Array<H2Frame> = []
  /** The first header block; for a trailers-only response, also `trailers`. */
  headers: Fields | undefined = undefined
  trailers: Fields | undefined = undefined
  /** DATA payloads without padding. */
  readonly chunks: Array<Buffer> = []
  dataBytes = 0
  /** Flow-controlled bytes (padding included) received. */
  flowBytes = 0
  ended = false
  rstCode: number | undefined = undefined
  /** Our receive window for the stream: what the server may still send. */
  receiveWindow: number
  /** The server's window for the stream: what we may still send. */
  sendWindow: number
  /** We sent END_STREAM or RST_STREAM. */
  localClosed = false

  constructor(receiveWindow: number, sendWindow: number) {
    this.receiveWindow = receiveWindow
    this.sendWindow = sendWindow
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks)
  }

  get messages(): Array<Buffer> {
    return grpcMessages(this.data)
  }

  /** grpc-status from the trailers, as a number (undefined if none came). */
  get grpcStatus(): number | undefined {
    const value = field(this.trailers, "grpc-status")
    return value === undefined ? undefined : Number(value)
  }

  /** The response is over: END_STREAM or RST_STREAM. */
  get done(): boolean {
    return this.ended || this.rstCode !== undefined
  }
}

export interface ConnectOptions {
  readonly host?: string
  /** Connect with TLS (ALPN h2), trusting `ca`. */
  readonly tls?: { readonly ca: Buffer }
  /** Send the preface and our SETTINGS at once, and wait for the server's SETTINGS. Default true. */
  readonly handshake?: boolean
  readonly settings?: ReadonlyArray<readonly [number, number]>
  /** Acknowledge the server's SETTINGS. Default true. */
  readonly autoAck?: boolean
  /** Give back every DATA byte received at once (WINDOW_UPDATE on the stream and connection). Default true. */
  readonly creditData?: boolean
}

interface Waiter {
  check(): boolean
}

export class RawH2Client {
  readonly socket: net.Socket
  /** Every frame received, in order. */
  readonly frames: Array<H2Frame> = []
  /** Every way the server broke RFC 9113 as seen from here. */
  readonly violations: Array<string> = []
  readonly streams = new Map<number, StreamRecord>()
  /** The server's SETTINGS, as last announced. */
  readonly serverSettings = new Map<number, number>()
  closed = false
  goaway: { readonly lastStreamId: number; readonly code: number; readonly debug: string } | undefined = undefined

  private readonly decoder = new HpackDecoder()
  private readonly autoAck: boolean
  creditData: boolean
  private input: Buffer = Buffer.alloc(0)
  private readonly waiters = new Set<Waiter>()
  /** The header block being received: its stream, END_STREAM, and the fragments so far. */
  private block: { streamId: number; endStream: boolean; fragments: Array<Buffer> } | undefined = undefined
  private receiveConnectionWindow = DEFAULT_WINDOW_BYTES
  private sendConnectionWindowBytes = DEFAULT_WINDOW_BYTES
  private localInitialWindow = DEFAULT_WINDOW_BYTES
  private localMaxFrame = DEFAULT_MAX_FRAME_BYTES
  private serverInitialWindow = DEFAULT_WINDOW_BYTES

  private constructor(socket: net.Socket, options: ConnectOptions) {
    this.socket = socket
    this.autoAck = options.autoAck ?? true
    this.creditData = options.creditData ?? true
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => this.onBytes(chunk))
    socket.on("error", () => {}) // resets after a GOAWAY are expected; "close" reports the end
    socket.on("close", () => {
      this.closed = true
      this.wake()
    })
  }

  static async connect(port: number, options: ConnectOptions = {}): Promise<RawH2Client> {
    const host = options.host ?? "127.0.0.1"
    const socket = options.tls === undefined
      ? net.connect(port, host)
      : tls.connect({ port, host, ca: options.tls.ca, ALPNProtocols: ["h2"] })
    const client = new RawH2Client(socket, options)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connect to ${host}:${port} timed out`)), WAIT_MS_DEFAULT)
      socket.once(options.tls === undefined ? "connect" : "secureConnect", () => {
        clearTimeout(timer)
        resolve()
      })
      socket.once("error", (error) => {
        clearTimeout(timer)
        reject(error)
      })
    })
    if (options.handshake ?? true) {
      client.write(Buffer.concat([PREFACE, client.settingsFrame(options.settings ?? [])]))
      await client.waitFor((f) => f.type === Type.SETTINGS && (f.flags & Flag.ACK) === 0, "the server's SETTINGS")
    }
    return client
  }

  // ---- sending -------------------------------------------------------------------------------

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  /** Writes one byte per socket write, waiting for each to be flushed. */
  async writeBytewise(bytes: Uint8Array): Promise<void> {
    for (const byte of bytes) {
      if (this.socket.destroyed) return
      await new Promise<void>((resolve) => this.socket.write(Buffer.from([byte]), () => resolve()))
    }
  }

  /** SETTINGS as bytes; records the values we announce (they bound what the server may send). */
  settingsFrame(entries: ReadonlyArray<readonly [number, number]>): Buffer {
    for (const [id, value] of entries) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        const delta = value - this.localInitialWindow
        this.localInitialWindow = value
        for (const stream of this.streams.values()) stream.receiveWindow += delta
      }
      if (id === Setting.MAX_FRAME_SIZE) this.localMaxFrame = Math.max(this.localMaxFrame, value)
    }
    return encodeFrame(Type.SETTINGS, 0, 0, settingsPayload(entries))
  }

  settings(entries: ReadonlyArray<readonly [number, number]>): void {
    this.write(this.settingsFrame(entries))
  }

  ping(data: Buffer = Buffer.alloc(8), ack = false): void {
    this.write(encodeFrame(Type.PING, ack ? Flag.ACK : 0, 0, data))
  }

  /** A PING answered: everything the server sent before its ACK has arrived. */
  async roundTrip(): Promise<void> {
    const data = Buffer.from(Math.floor(Math.random() * 2 ** 48).toString(16).padStart(16, "0"), "hex")
    this.ping(data)
    await this.waitFor((f) => f.type === Type.PING && (f.flags & Flag.ACK) !== 0 && f.payload.equals(data), "a PING ACK")
  }

  /** Opens (or continues) a stream with a HEADERS frame as bytes. */
  headersFrame(streamId: number, block: Buffer, options: {
    readonly endStream?: boolean
    readonly endHeaders?: boolean
    readonly padLength?: number
    readonly priority?: { readonly dependency: number; readonly exclusive: boolean; readonly weight: number }
  } = {}): Buffer {
    this.openStream(streamId)
    let flags = (options.endHeaders ?? true) ? Flag.END_HEADERS : 0
    if (options.endStream) flags |= Flag.END_STREAM
    const parts: Array<Buffer> = []
    if (options.padLength !== undefined) {
      flags |= Flag.PADDED
      parts.push(Buffer.from([options.padLength]))
    }
    if (options.priority !== undefined) {
      flags |= Flag.PRIORITY
      const priority = Buffer.alloc(5)
      priority.writeUInt32BE(((options.priority.exclusive ? 0x80000000 : 0) | options.priority.dependency) >>> 0)
      priority[4] = options.priority.weight
      parts.push(priority)
    }
    parts.push(block)
    if (options.padLength !== undefined) parts.push(Buffer.alloc(options.padLength))
    if (options.endStream) this.streams.get(streamId)!.localClosed = true
    return encodeFrame(Type.HEADERS, flags, streamId, Buffer.concat(parts))
  }

  /** DATA as bytes; counts against our send windows (whether or not they allow it). */
  dataFrame(streamId: number, data: Uint8Array, options: { readonly endStream?: boolean; readonly padLength?: number } = {}): Buffer {
    let flags = options.endStream ? Flag.END_STREAM : 0
    let payload = Buffer.from(data)
    if (options.padLength !== undefined) {
      flags |= Flag.PADDED
      payload = Buffer.concat([Buffer.from([options.padLength]), payload, Buffer.alloc(options.padLength)])
    }
    this.sendConnectionWindowBytes -= payload.length
    const stream = this.streams.get(streamId)
    if (stream !== undefined) {
      stream.sendWindow -= payload.length
      if (options.endStream) stream.localClosed = true
    }
    return encodeFrame(Type.DATA, flags, streamId, payload)
  }

  data(streamId: number, data: Uint8Array, options: { readonly endStream?: boolean; readonly padLength?: number } = {}): void {
    this.write(this.dataFrame(streamId, data, options))
  }

  windowUpdate(streamId: number, increment: number): void {
    if (streamId === 0) this.receiveConnectionWindow += increment
    else {
      const stream = this.streams.get(streamId)
      if (stream !== undefined) stream.receiveWindow += increment
    }
    this.write(encodeFrame(Type.WINDOW_UPDATE, 0, streamId, uint32(increment)))
  }

  rstStream(streamId: number, code: number): void {
    const stream = this.streams.get(streamId)
    if (stream !== undefined) stream.localClosed = true
    this.write(encodeFrame(Type.RST_STREAM, 0, streamId, uint32(code)))
  }

  /** The request headers of a gRPC call. */
  static requestHeaders(path: string, authority = "127.0.0.1", extra: HeaderPairs = []): HeaderPairs {
    return [
      [":method", "POST"], [":scheme", "http"], [":path", path], [":authority", authority],
      ["content-type", "application/grpc"], ["te", "trailers"], ...extra,
    ]
  }

  /**
   * Starts a gRPC call in one write: HEADERS, then (if `message` is given) one DATA frame with
   * the framed message; END_STREAM on the last frame unless `endStream` is false.
   */
  callFrames(streamId: number, path: string, message: Uint8Array | undefined, options: {
    readonly endStream?: boolean
    readonly authority?: string
    readonly extra?: HeaderPairs
  } = {}): Buffer {
    const endStream = options.endStream ?? true
    const block = literalBlock(RawH2Client.requestHeaders(path, options.authority, options.extra))
    if (message === undefined) return this.headersFrame(streamId, block, { endStream })
    return Buffer.concat([this.headersFrame(streamId, block), this.dataFrame(streamId, grpcFrame(message), { endStream })])
  }

  call(streamId: number, path: string, message: Uint8Array | undefined, options: Parameters<RawH2Client["callFrames"]>[3] = {}): void {
    this.write(this.callFrames(streamId, path, message, options))
  }

  /** What we may still send on the connection, as far as the server's WINDOW_UPDATEs have told us. */
  get sendConnectionWindow(): number {
    return this.sendConnectionWindowBytes
  }

  get receiveWindowConnection(): number {
    return this.receiveConnectionWindow
  }

  /**
   * Sends `bytes` as DATA on a stream within the windows the server grants, waiting (bounded)
   * for WINDOW_UPDATEs when they run out. Stops early if the stream is reset or ended by the server.
   */
  async sendData(streamId: number, bytes: Buffer, options: { readonly endStream?: boolean; readonly waitMs?: number } = {}): Promise<void> {
    const stream = this.stream(streamId)
    const maxFrame = this.serverSettings.get(Setting.MAX_FRAME_SIZE) ?? DEFAULT_MAX_FRAME_BYTES
    let at = 0
    do {
      await this.until(() => stream.done || this.closed || (this.sendConnectionWindowBytes > 0 && stream.sendWindow > 0) || at === bytes.length,
        `send window on stream ${streamId} (sent ${at} of ${bytes.length})`, options.waitMs)
      if (stream.done || this.closed) return
      const length = Math.min(bytes.length - at, maxFrame, this.sendConnectionWindowBytes, stream.sendWindow)
      const last = at + length === bytes.length
      this.data(streamId, bytes.subarray(at, at + length), { endStream: last && (options.endStream ?? true) })
      at += length
    } while (at < bytes.length)
  }

  // ---- receiving -----------------------------------------------------------------------------

  /** The record of a stream (created if we have not opened it: a test may look at any id). */
  stream(streamId: number): StreamRecord {
    let stream = this.streams.get(streamId)
    if (stream === undefined) {
      stream = new StreamRecord(this.localInitialWindow, this.serverInitialWindow)
      this.streams.set(streamId, stream)
    }
    return stream
  }

  /** Resolves when `condition` returns a value other than undefined/false; rejects after `waitMs`. */
  until<T>(condition: () => T | undefined | false, what: string, waitMs = WAIT_MS_DEFAULT): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const first = condition()
      if (first !== undefined && first !== false) return resolve(first)
      const waiter: Waiter = {
        check: () => {
          const value = condition()
          if (value === undefined || value === false) return false
          clearTimeout(timer)
          this.waiters.delete(waiter)
          resolve(value)
          return true
        },
      }
      const timer = setTimeout(() => {
        this.waiters.delete(waiter)
        reject(new Error(`timed out after ${waitMs} ms waiting for ${what}; ${this.closed ? "socket closed; " : ""}frames seen: ${this.describe()}`))
      }, waitMs)
      this.waiters.add(waiter)
    })
  }

  /** The first frame received (from index `from` on) that matches. */
  waitFor(predicate: (f: H2Frame) => boolean, what: string, options: { readonly from?: number; readonly waitMs?: number } = {}): Promise<H2Frame> {
    return this.until(() => this.frames.slice(options.from ?? 0).find(predicate), what, options.waitMs)
  }

  /** The stream's record once the response is over (END_STREAM or RST_STREAM). */
  response(streamId: number, waitMs?: number): Promise<StreamRecord> {
    const stream = this.stream(streamId)
    return this.until(() => stream.done && stream, `the response on stream ${streamId}`, waitMs)
  }

  /** The GOAWAY, once the socket has also closed. */
  async connectionError(waitMs = WAIT_MS_DEFAULT): Promise<{ readonly lastStreamId: number; readonly code: number; readonly debug: string }> {
    const goaway = await this.until(() => this.goaway, "GOAWAY", waitMs)
    await this.until(() => this.closed, "the server to close the connection after GOAWAY", waitMs)
    return goaway
  }

  closedByServer(waitMs = WAIT_MS_DEFAULT): Promise<true> {
    return this.until(() => this.closed, "the server to close the connection", waitMs)
  }

  describe(): string {
    const shown = this.frames.length > 60 ? [...this.frames.slice(0, 20).map(describeFrame), `...${this.frames.length - 40} more...`, ...this.frames.slice(-20).map(describeFrame)] : this.frames.map(describeFrame)
    return shown.join(" ") || "(none)"
  }

  close(): void {
    this.socket.destroy()
  }

  private openStream(streamId: number): void {
    this.stream(streamId)
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter.check()
  }

  private onBytes(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk])
    while (this.input.length >= FRAME_HEADER_BYTES) {
      const length = this.input.readUIntBE(0, 3)
      if (this.input.length < FRAME_HEADER_BYTES + length) break
      const f: H2Frame = {
        type: this.input[3]!,
        flags: this.input[4]!,
        streamId: this.input.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.input.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length)),
      }
      this.input = this.input.subarray(FRAME_HEADER_BYTES + length)
      this.onFrame(f)
    }
    this.wake()
  }

  private violation(text: string): void {
    this.violations.push(`${text} (frame #${this.frames.length - 1})`)
  }

  private onFrame(f: H2Frame): void {
    this.frames.push(f)
    if (this.frames.length === 1 && (f.type !== Type.SETTINGS || (f.flags & Flag.ACK) !== 0)) {
      this.violation(`first frame is ${describeFrame(f)}, not SETTINGS`)
    }
    if (f.payload.length > this.localMaxFrame) this.violation(`${describeFrame(f)} longer than our SETTINGS_MAX_FRAME_SIZE ${this.localMaxFrame}`)
    if (this.block !== undefined && (f.type !== Type.CONTINUATION || f.streamId !== this.block.streamId)) {
      this.violation(`${describeFrame(f)} inside the header block of stream ${this.block.streamId}`)
      this.block = undefined
    }
    const connectionLevel = f.type === Type.SETTINGS || f.type === Type.PING || f.type === Type.GOAWAY
    if (connectionLevel && f.streamId !== 0) this.violation(`${describeFrame(f)} on a stream`)
    const streamLevel = f.type === Type.DATA || f.type === Type.HEADERS || f.type === Type.RST_STREAM || f.type === Type.CONTINUATION
    if (streamLevel && f.streamId === 0) this.violation(`${describeFrame(f)} on stream 0`)
    if (streamLevel && f.streamId !== 0 && f.streamId % 2 === 0) this.violation(`${describeFrame(f)} on an even (server-initiated) stream`)
    if (f.type === Type.PUSH_PROMISE) this.violation("PUSH_PROMISE although we never enabled push for a gRPC server")
    switch (f.type) {
      case Type.SETTINGS:
        return this.onSettings(f)
      case Type.PING:
        if ((f.flags & Flag.ACK) === 0) this.ping(f.payload, true)
        return
      case Type.GOAWAY:
        if (f.payload.length < 8) return this.violation(`GOAWAY of ${f.payload.length} bytes`)
        this.goaway = { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString("utf8") }
        return
      case Type.WINDOW_UPDATE:
        return this.onWindowUpdate(f)
      case Type.DATA:
        return this.onData(f)
      case Type.HEADERS:
        return this.onHeaders(f)
      case Type.CONTINUATION:
        return this.onContinuation(f)
      case Type.RST_STREAM: {
        if (f.payload.length !== 4) return this.violation(`RST_STREAM of ${f.payload.length} bytes`)
        const stream = this.stream(f.streamId)
        stream.frames.push(f)
        stream.rstCode = f.payload.readUInt32BE(0)
        return
      }
    }
  }

  private onSettings(f: H2Frame): void {
    if ((f.flags & Flag.ACK) !== 0) {
      if (f.payload.length !== 0) this.violation(`SETTINGS ACK with ${f.payload.length} bytes`)
      return
    }
    if (f.payload.length % 6 !== 0) return this.violation(`SETTINGS of ${f.payload.length} bytes`)
    for (let at = 0; at < f.payload.length; at += 6) {
      const id = f.payload.readUInt16BE(at)
      const value = f.payload.readUInt32BE(at + 2)
      if (id === Setting.ENABLE_PUSH && value !== 0) this.violation(`server SETTINGS_ENABLE_PUSH ${value} (RFC 9113 6.5.2: a server's must be 0)`)
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > 0x7fffffff) this.violation(`SETTINGS_INITIAL_WINDOW_SIZE ${value}`)
        const delta = value - this.serverInitialWindow
        this.serverInitialWindow = value
        for (const stream of this.streams.values()) stream.sendWindow += delta
      }
      if (id === Setting.MAX_FRAME_SIZE && (value < 16384 || value > 16777215)) this.violation(`SETTINGS_MAX_FRAME_SIZE ${value}`)
      this.serverSettings.set(id, value)
    }
    if (this.autoAck) this.write(encodeFrame(Type.SETTINGS, Flag.ACK, 0))
  }

  private onWindowUpdate(f: H2Frame): void {
    if (f.payload.length !== 4) return this.violation(`WINDOW_UPDATE of ${f.payload.length} bytes`)
    const increment = f.payload.readUInt32BE(0) & 0x7fffffff
    if (increment === 0) this.violation("WINDOW_UPDATE of 0")
    if (f.streamId === 0) this.sendConnectionWindowBytes += increment
    else this.stream(f.streamId).sendWindow += increment
  }

  private onData(f: H2Frame): void {
    const stream = this.stream(f.streamId)
    stream.frames.push(f)
    if (stream.headers === undefined) this.violation(`DATA before response headers on stream ${f.streamId}`)
    if (stream.ended) this.violation(`DATA after END_STREAM on stream ${f.streamId}`)
    const length = f.payload.length
    if (length > this.receiveConnectionWindow) this.violation(`DATA of ${length} bytes beyond the connection window ${this.receiveConnectionWindow}`)
    if (length > stream.receiveWindow) this.violation(`DATA of ${length} bytes beyond stream ${f.streamId}'s window ${stream.receiveWindow}`)
    this.receiveConnectionWindow -= length
    stream.receiveWindow -= length
    stream.flowBytes += length
    let data = f.payload
    if ((f.flags & Flag.PADDED) !== 0) {
      const padLength = f.payload[0] ?? 0
      if (f.payload.length < 1 + padLength) return this.violation(`DATA padding ${padLength} longer than its payload`)
      data = f.payload.subarray(1, f.payload.length - padLength)
    }
    stream.chunks.push(data)
    stream.dataBytes += data.length
    if ((f.flags & Flag.END_STREAM) !== 0) {
      this.violation(`DATA with END_STREAM on stream ${f.streamId}: a gRPC response ends with trailers`)
      stream.ended = true
    }
    if (this.creditData && length > 0) {
      this.windowUpdate(0, length)
      if (!stream.done) this.windowUpdate(f.streamId, length)
    }
  }

  private onHeaders(f: H2Frame): void {
    const stream = this.stream(f.streamId)
    stream.frames.push(f)
    if (stream.ended) this.violation(`HEADERS after END_STREAM on stream ${f.streamId}`)
    let fragment = f.payload
    let at = 0
    let padLength = 0
    if ((f.flags & Flag.PADDED) !== 0) {
      padLength = fragment[0] ?? 0
      at = 1
    }
    if ((f.flags & Flag.PRIORITY) !== 0) at += 5
    if (at + padLength > fragment.length) return this.violation(`HEADERS padding longer than its payload on stream ${f.streamId}`)
    fragment = fragment.subarray(at, fragment.length - padLength)
    this.block = { streamId: f.streamId, endStream: (f.flags & Flag.END_STREAM) !== 0, fragments: [fragment] }
    if ((f.flags & Flag.END_HEADERS) !== 0) this.endBlock()
  }

  private onContinuation(f: H2Frame): void {
    this.stream(f.streamId).frames.push(f)
    if (this.block === undefined) return this.violation(`CONTINUATION without HEADERS on stream ${f.streamId}`)
    this.block.fragments.push(f.payload)
    if ((f.flags & Flag.END_HEADERS) !== 0) this.endBlock()
  }

  private endBlock(): void {
    const block = this.block!
    this.block = undefined
    const stream = this.stream(block.streamId)
    let fields: Fields
    try {
      fields = this.decoder.decode(Buffer.concat(block.fragments))
    } catch (error) {
      return this.violation(`undecodable header block on stream ${block.streamId}: ${String(error)}`)
    }
    if (stream.headers === undefined) {
      stream.headers = fields
      if (field(fields, ":status") === undefined) this.violation(`response headers without :status on stream ${block.streamId}`)
      if (block.endStream) stream.trailers = fields
    } else {
      if (!block.endStream) this.violation(`trailers without END_STREAM on stream ${block.streamId}`)
      if (fields.some((f) => f.name.startsWith(":"))) this.violation(`pseudo-header in trailers on stream ${block.streamId}`)
      stream.trailers = fields
    }
    if (block.endStream) stream.ended = true
  }
}
