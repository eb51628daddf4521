// Our one outbound connection to a peer: everything we send it goes this way (what it sends us
// arrives on its own connection, see InboundConnection). The connection dials, says Hello, waits
// for HelloAccepted, then writes whatever the transport queued during an event-loop turn as one
// corked batch. A lost connection is redialed after an exponential, jittered delay; while there is
// none, messages are dropped (Raft retries) rather than piling up for a peer that may never return.
import * as net from "node:net"
import * as tls from "node:tls"
import { assert } from "../../assert.ts"
import type { InstallSnapshotRequest, Message, NodeId } from "../../raft/Types.ts"
import {
  encodeCall, encodeCallResult, encodeForward, encodeReadIndexRequest, encodeReadIndexResponse,
  type Call, type CallResult, type ReadIndexRequest, type ReadIndexResponse,
} from "./AppFrames.ts"
import { reconnectDelayMs } from "./Backoff.ts"
import { ByteReader } from "./ByteReader.ts"
import { ByteWriter } from "./ByteWriter.ts"
import { beginFrame, endFrame, frameHeader, FrameType } from "./Frame.ts"
import { FrameDecoder } from "./FrameDecoder.ts"
import {
  decodeRefusal, describeRefusal, encodeHello, hex, type Hello, type RefusalReason,
} from "./Handshake.ts"
import { encodeMessage, encodeSnapshotHead } from "./MessageCodec.ts"
import type { PeerUrl } from "./PeerUrl.ts"
import { PeerProtocolError } from "./ProtocolError.ts"
import type { TransportLimits, TransportLogger } from "./TransportOptions.ts"

export type OutboundItem =
  | { readonly kind: "message"; readonly message: Message }
  | { readonly kind: "forward"; readonly datas: ReadonlyArray<Uint8Array> }
  | { readonly kind: "readIndexRequest"; readonly request: ReadIndexRequest }
  | { readonly kind: "readIndexResponse"; readonly response: ReadIndexResponse }
  | { readonly kind: "call"; readonly call: Call }
  | { readonly kind: "callResult"; readonly result: CallResult }

/**
 * connecting: dialing or in the handshake (items queue up). connected: items are written.
 * waiting: no connection until the reconnect timer fires (items are dropped). closed: for good.
 */
export type OutboundState = "connecting" | "connected" | "waiting" | "closed"

export interface OutboundContext {
  readonly limits: TransportLimits
  readonly logger: TransportLogger
  /** Our Hello to the member we dial. */
  readonly hello: (receiverMemberId: bigint) => Hello
  readonly clientTls: tls.ConnectionOptions | undefined
  readonly random: () => number
  /** Ask for `flush` at the end of this event-loop turn. */
  readonly requestFlush: (peer: OutboundPeer) => void
  readonly peerActive: (peer: OutboundPeer, active: boolean) => void
  readonly snapshotSent: (to: NodeId, success: boolean) => void
  /** The peer refused our Hello, for this reason. */
  readonly refused: (peer: OutboundPeer, reason: RefusalReason) => void
}

/** A snapshot too large for one frame, being written chunk by chunk between other frames. */
interface SnapshotStream {
  readonly message: InstallSnapshotRequest
  headSent: boolean
  sentBytes: number
}

/** Hello replies are a few bytes; anything larger is a protocol error. */
const replyBytesMax = 64
const dropLogIntervalMs = 1000

export class OutboundPeer {
  readonly memberId: bigint
  readonly raftId: NodeId
  private urls: ReadonlyArray<PeerUrl>
  private urlCursor = 0
  private url: PeerUrl
  state: OutboundState = "waiting"
  private socket: net.Socket | undefined = undefined
  private timer: NodeJS.Timeout | undefined = undefined
  /** Failed attempts since the last connection that lasted; sets the redial delay. */
  private attempt = 0
  private connectedAtMs = 0
  /** Items not yet written; [queueHead, queue.length) are live. */
  private queue: Array<OutboundItem | undefined> = []
  private queueHead = 0
  private stream: SnapshotStream | undefined = undefined
  /** The failure last logged; a peer that stays down the same way is logged once. */
  private lastFailure = ""
  sentItems = 0
  droppedItems = 0
  private droppedSinceLog = 0
  private lastDropLogMs = 0
  private readonly ctx: OutboundContext

  constructor(
    memberId: bigint, raftId: NodeId, urls: ReadonlyArray<PeerUrl>, ctx: OutboundContext,
  ) {
    assert(urls.length > 0, "OutboundPeer: a peer needs at least one URL")
    this.memberId = memberId
    this.raftId = raftId
    this.urls = urls
    this.url = urls[0]!
    this.ctx = ctx
    this.connect()
  }

  get queuedItems(): number {
    return this.queue.length - this.queueHead
  }

  get lastFailureReason(): string {
    return this.lastFailure
  }

  get address(): string {
    return this.url.address
  }

  /** Queues an item for the next flush; false if it was dropped (no connection, queue full). */
  enqueue(item: OutboundItem): boolean {
    if (this.state === "waiting" || this.state === "closed") return this.drop(item, undefined)
    const full = this.queuedItems >= this.ctx.limits.queueItemsMax
    if (full) return this.drop(item, "the send queue is full")
    this.queue.push(item)
    if (this.state === "connected") this.ctx.requestFlush(this)
    return true
  }

  private drop(item: OutboundItem, loggedReason: string | undefined): false {
    this.droppedItems++
    if (item.kind === "message" && item.message.type === "InstallSnapshotRequest") {
      this.ctx.snapshotSent(this.raftId, false)
    }
    if (loggedReason !== undefined) {
      this.droppedSinceLog++
      const nowMs = Date.now()
      if (nowMs - this.lastDropLogMs >= dropLogIntervalMs) {
        const count = this.droppedSinceLog
        const peer = hex(this.memberId)
        this.ctx.logger.warn(`dropped ${count} message(s) to peer ${peer}: ${loggedReason}`)
        this.droppedSinceLog = 0
        this.lastDropLogMs = nowMs
      }
    }
    return false
  }

  /** New URLs for the peer; a connection to a URL no longer listed is redialed. */
  updateUrls(urls: ReadonlyArray<PeerUrl>): void {
    assert(urls.length > 0, "OutboundPeer: a peer needs at least one URL")
    this.urls = urls
    const current = this.url
    const stillListed = urls.some((u) =>
      u.address === current.address && u.secure === current.secure)
    if (!stillListed && this.socket !== undefined) this.fail(this.socket, "changed its URLs")
  }

  // ---- connection lifecycle ----

  private connect(): void {
    assert(this.state === "waiting", "OutboundPeer.connect: not waiting")
    assert(this.socket === undefined, "OutboundPeer.connect: a socket is open")
    const url = this.urls[this.urlCursor++ % this.urls.length]!
    this.url = url
    this.state = "connecting"
    const socket = url.secure
      ? tls.connect({ ...this.ctx.clientTls, host: url.host, port: url.port })
      : net.connect({ host: url.host, port: url.port })
    this.socket = socket
    socket.setNoDelay(true)
    socket.once(url.secure ? "secureConnect" : "connect", () => this.sendHello(socket))
    const decoder = new FrameDecoder(replyBytesMax)
    socket.on("data", (chunk: Buffer) => this.handleReplyBytes(socket, decoder, chunk))
    socket.on("error", (error) => this.fail(socket, `is unreachable: ${error.message}`))
    socket.on("close", () => this.fail(socket, this.describeClose(url)))
    socket.on("drain", () => this.flush())
    const timeoutMs = this.ctx.limits.connectTimeoutMs
    const timeoutReason = `is unreachable: no handshake within ${timeoutMs} ms`
    this.timer = setTimeout(() => this.fail(socket, timeoutReason), timeoutMs)
  }

  private describeClose(url: PeerUrl): string {
    if (this.state === "connected") return "closed the connection"
    // A TLS listener refusing our certificate just closes (TLS 1.3 has no alert for it here).
    const closed = "closed the connection during the handshake"
    return url.secure ? `${closed} (did it refuse our certificate?)` : closed
  }

  private sendHello(socket: net.Socket): void {
    const w = new ByteWriter(64)
    const start = beginFrame(w, FrameType.Hello)
    encodeHello(w, this.ctx.hello(this.memberId))
    endFrame(w, start)
    socket.write(w.take(0))
  }

  private handleReplyBytes(socket: net.Socket, decoder: FrameDecoder, chunk: Buffer): void {
    try {
      decoder.push(chunk, (type, payload) => this.handleReply(socket, type, payload))
    } catch (error) {
      if (!(error instanceof PeerProtocolError)) throw error
      this.fail(socket, `sent an invalid reply: ${error.message}`)
    }
  }

  private handleReply(socket: net.Socket, type: FrameType, payload: Uint8Array): void {
    if (socket !== this.socket) return
    if (this.state !== "connecting") {
      throw new PeerProtocolError(`frame type ${type} after the handshake`)
    }
    if (type === FrameType.HelloAccepted) {
      if (payload.length !== 0) throw new PeerProtocolError("a HelloAccepted with a payload")
      return this.becomeConnected()
    }
    if (type !== FrameType.HelloRefused) {
      throw new PeerProtocolError(`frame type ${type} instead of a hello reply`)
    }
    const refusal = decodeRefusal(new ByteReader(payload))
    const why = describeRefusal(refusal, this.ctx.hello(this.memberId), "dialer")
    this.fail(socket, `refused the connection: ${why}`)
    this.ctx.refused(this, refusal.reason)
  }

  private becomeConnected(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.state = "connected"
    this.connectedAtMs = Date.now()
    this.lastFailure = ""
    this.ctx.logger.info(`connected to peer ${hex(this.memberId)} at ${this.url.address}`)
    this.ctx.peerActive(this, true)
    if (this.queuedItems > 0) this.ctx.requestFlush(this)
  }

  /** `socket` failed (if it is still ours): log, drop what waits, schedule a redial. */
  private fail(socket: net.Socket, reason: string): void {
    if (socket !== this.socket) return
    this.socket = undefined
    socket.destroy()
    clearTimeout(this.timer)
    this.timer = undefined
    const wasConnected = this.state === "connected"
    this.dropAllQueued()
    if (this.state === "closed") return
    this.state = "waiting"
    const failure = `peer ${this.url.address} ${reason}`
    if (wasConnected) {
      this.ctx.logger.warn(`lost the connection to peer ${hex(this.memberId)}: ${failure}`)
      this.ctx.peerActive(this, false)
    } else if (failure !== this.lastFailure) {
      this.ctx.logger.warn(failure)
    }
    this.lastFailure = failure
    const { reconnectDelayInitialMs: initialMs, reconnectDelayMaxMs } = this.ctx.limits
    // A connection that lasted resets the delay; one dropped right after the handshake does not,
    // so a peer that keeps accepting and dropping us is redialed (and logged) at most once a
    // reconnectDelayMaxMs.
    if (wasConnected && Date.now() - this.connectedAtMs >= reconnectDelayMaxMs) this.attempt = 0
    const attempt = this.attempt++
    const delayMs = reconnectDelayMs(attempt, initialMs, reconnectDelayMaxMs, this.ctx.random)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.connect()
    }, delayMs)
  }

  private dropAllQueued(): void {
    for (let k = this.queueHead; k < this.queue.length; k++) this.drop(this.queue[k]!, undefined)
    this.queue = []
    this.queueHead = 0
    if (this.stream !== undefined) {
      this.ctx.snapshotSent(this.raftId, false)
      this.stream = undefined
    }
  }

  close(): void {
    this.state = "closed"
    clearTimeout(this.timer)
    this.timer = undefined
    this.queue = []
    this.queueHead = 0
    this.stream = undefined
    const socket = this.socket
    this.socket = undefined
    socket?.destroy()
  }

  // ---- writing ----

  /** Writes what is queued, as one corked batch, as far as the socket's buffer allows. */
  flush(): void {
    const socket = this.socket
    if (this.state !== "connected" || socket === undefined) return
    const bufferBytesMax = this.ctx.limits.socketBufferBytesMax
    if (socket.writableLength >= bufferBytesMax) return // 'drain' calls flush again
    socket.cork()
    this.writeQueued(socket, bufferBytesMax)
    this.writeSnapshotChunks(socket, bufferBytesMax)
    socket.uncork()
    const workLeft = this.queuedItems > 0 || this.stream !== undefined
    if (workLeft && !socket.writableNeedDrain) this.ctx.requestFlush(this)
  }

  private writeQueued(socket: net.Socket, bufferBytesMax: number): void {
    const w = new ByteWriter(16 * 1024)
    const roomLeft = (): boolean => socket.writableLength + w.length < bufferBytesMax
    while (this.queueHead < this.queue.length && roomLeft()) {
      const item = this.queue[this.queueHead]!
      this.queue[this.queueHead++] = undefined
      this.encodeItem(w, item)
    }
    if (this.queueHead === this.queue.length) {
      this.queue = []
      this.queueHead = 0
    } else if (this.queueHead > 1024) {
      this.queue = this.queue.slice(this.queueHead)
      this.queueHead = 0
    }
    if (w.length > 0) socket.write(w.take(0))
  }

  private encodeItem(w: ByteWriter, item: OutboundItem): void {
    if (item.kind === "message" && item.message.type === "InstallSnapshotRequest" &&
        item.message.snapshot.data.length > this.ctx.limits.snapshotChunkBytes) {
      return this.startStream(item.message)
    }
    const start = beginFrame(w, frameTypeOf(item))
    if (item.kind === "message") encodeMessage(w, item.message)
    else if (item.kind === "forward") encodeForward(w, item.datas)
    else if (item.kind === "readIndexRequest") encodeReadIndexRequest(w, item.request)
    else if (item.kind === "readIndexResponse") encodeReadIndexResponse(w, item.response)
    else if (item.kind === "call") encodeCall(w, item.call)
    else encodeCallResult(w, item.result)
    const payloadBytes = endFrame(w, start)
    if (payloadBytes > this.ctx.limits.frameBytesMax) {
      w.truncate(start)
      const what = item.kind === "message" ? item.message.type : item.kind
      this.drop(item, `a ${what} of ${payloadBytes} bytes is over the frame maximum`)
      return
    }
    this.sentItems++
  }

  private startStream(message: InstallSnapshotRequest): void {
    if (this.stream !== undefined) {
      this.drop({ kind: "message", message }, "a snapshot is already being sent")
      return
    }
    this.stream = { message, headSent: false, sentBytes: 0 }
  }

  /** Writes the streaming snapshot's next frames while the socket has room. */
  private writeSnapshotChunks(socket: net.Socket, bufferBytesMax: number): void {
    const chunkBytes = this.ctx.limits.snapshotChunkBytes
    while (this.stream !== undefined && socket.writableLength < bufferBytesMax) {
      const stream = this.stream
      if (!stream.headSent) {
        const w = new ByteWriter(256)
        const start = beginFrame(w, FrameType.SnapshotHead)
        encodeSnapshotHead(w, stream.message)
        endFrame(w, start)
        socket.write(w.take(0))
        stream.headSent = true
        continue
      }
      const data = stream.message.snapshot.data
      const chunk = data.subarray(stream.sentBytes, stream.sentBytes + chunkBytes)
      socket.write(frameHeader(FrameType.SnapshotChunk, chunk))
      stream.sentBytes += chunk.length
      if (stream.sentBytes < data.length) {
        socket.write(chunk)
        continue
      }
      this.stream = undefined
      this.sentItems++
      const to = stream.message.to
      socket.write(chunk, (error) => this.ctx.snapshotSent(to, error == null))
    }
  }
}

function frameTypeOf(item: OutboundItem): FrameType {
  switch (item.kind) {
    case "message":
      return FrameType.RaftMessage
    case "forward":
      return FrameType.Forward
    case "readIndexRequest":
      return FrameType.ReadIndexRequest
    case "readIndexResponse":
      return FrameType.ReadIndexResponse
    case "call":
      return FrameType.Call
    case "callResult":
      return FrameType.CallResult
  }
}
