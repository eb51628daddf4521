// A connection a peer dialed to us: it carries that peer's messages to us. The first frame must be
// a Hello that passes the checks (else we answer HelloRefused, log, and close); after that every
// frame is decoded and delivered. Anything malformed drops the connection with a log line; the
// peer redials, and the rest of the transport is untouched.
import type * as net from "node:net"
import { assert } from "../../assert.ts"
import type { Message, NodeId } from "../../raft/Types.ts"
import {
  decodeCall, decodeCallResult, decodeForward, decodeReadIndexRequest, decodeReadIndexResponse,
  type Call, type CallResult, type ReadIndexRequest, type ReadIndexResponse,
} from "./AppFrames.ts"
import { decodeClusterInfoRequest, encodeClusterInfo, type ClusterInfo } from "./ClusterInfo.ts"
import { ByteReader } from "./ByteReader.ts"
import { ByteWriter } from "./ByteWriter.ts"
import { beginFrame, endFrame, FrameType } from "./Frame.ts"
import { FrameDecoder } from "./FrameDecoder.ts"
import {
  checkHello, decodeHello, describeRefusal, encodeRefusal, hex, protocolVersion,
  type ListenerIdentity,
} from "./Handshake.ts"
import { decodeMessage, decodeSnapshotHead } from "./MessageCodec.ts"
import { PeerProtocolError } from "./ProtocolError.ts"
import { SnapshotAssembler } from "./SnapshotAssembler.ts"
import type { TransportLimits, TransportLogger } from "./TransportOptions.ts"

export interface InboundContext {
  readonly identity: ListenerIdentity
  readonly localRaftId: NodeId
  readonly limits: TransportLimits
  readonly logger: TransportLogger
  /** The Raft ID of a known peer, to check the `from` of its messages. */
  readonly raftIdOf: (memberId: bigint) => NodeId | undefined
  /** The connection passed the handshake. */
  readonly accepted: (connection: InboundConnection) => void
  readonly closed: (connection: InboundConnection) => void
  readonly deliverMessage: (message: Message) => void
  readonly deliverForward: (fromMemberId: bigint, datas: Uint8Array[]) => void
  readonly deliverReadIndexRequest: (fromMemberId: bigint, request: ReadIndexRequest) => void
  readonly deliverReadIndexResponse: (fromMemberId: bigint, response: ReadIndexResponse) => void
  readonly deliverCall: (fromMemberId: bigint, call: Call) => void
  readonly deliverCallResult: (fromMemberId: bigint, result: CallResult) => void
  /** What a joining member is told; undefined if this member does not answer such requests. */
  readonly clusterInfo: () => ClusterInfo | undefined
}

/** hello: waiting for it. open: delivering. closing: refused, waiting for the dialer to go. */
type InboundState = "hello" | "open" | "closing" | "closed"

export class InboundConnection {
  private readonly socket: net.Socket
  private readonly ctx: InboundContext
  readonly remoteAddress: string
  /** The dialer's member ID, once its Hello was accepted. */
  senderMemberId: bigint | undefined = undefined
  private state: InboundState = "hello"
  private readonly decoder: FrameDecoder
  private readonly assembler: SnapshotAssembler
  private helloTimer: NodeJS.Timeout | undefined

  constructor(socket: net.Socket, ctx: InboundContext) {
    this.socket = socket
    this.ctx = ctx
    this.remoteAddress = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`
    this.decoder = new FrameDecoder(ctx.limits.frameBytesMax)
    this.assembler = new SnapshotAssembler(ctx.limits.snapshotBytesMax)
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => this.handleBytes(chunk))
    socket.on("error", (error) => {
      ctx.logger.debug(`peer connection from ${this.describePeer()}: ${error.message}`)
    })
    socket.on("close", () => this.handleClose())
    const timeoutMs = ctx.limits.helloTimeoutMs
    this.helloTimer = setTimeout(() => {
      // A refused dialer that did not hang up is closed quietly (the refusal was logged).
      if (this.state === "closing") this.close()
      else this.drop(`no hello within ${timeoutMs} ms`)
    }, timeoutMs)
  }

  private describePeer(): string {
    const member = this.senderMemberId === undefined ? "" : ` (member ${hex(this.senderMemberId)})`
    return `${this.remoteAddress}${member}`
  }

  /** Drops the connection because of what the peer did, and says why. */
  drop(reason: string): void {
    if (this.state === "closed") return
    this.ctx.logger.warn(`dropped the peer connection from ${this.describePeer()}: ${reason}`)
    this.close()
  }

  close(): void {
    if (this.state === "closed") return
    this.state = "closed"
    this.socket.destroy()
  }

  private handleClose(): void {
    clearTimeout(this.helloTimer)
    this.state = "closed"
    this.ctx.closed(this)
  }

  private handleBytes(chunk: Buffer): void {
    if (this.state === "closed" || this.state === "closing") return
    try {
      this.decoder.push(chunk, (type, payload) => this.handleFrame(type, payload))
    } catch (error) {
      if (!(error instanceof PeerProtocolError)) throw error
      this.drop(error.message)
    }
  }

  private handleFrame(type: FrameType, payload: Uint8Array): void {
    if (this.state === "hello") return this.handleHello(type, payload)
    if (this.state !== "open") return // dropped earlier in this same piece of the stream
    const sender = this.senderMemberId
    assert(sender !== undefined, "InboundConnection: open without a sender")
    const r = new ByteReader(payload)
    switch (type) {
      case FrameType.RaftMessage: {
        // One copy of the whole payload, its entries' data views into it: one allocation per
        // message rather than per entry, and nothing pins the socket's receive buffer.
        const owned = new Uint8Array(payload)
        return this.deliver(decodeMessage(new ByteReader(owned, 0, owned.length, true)))
      }
      case FrameType.SnapshotHead:
        return this.deliverIfComplete(
          this.assembler.begin(this.checkAddress(decodeSnapshotHead(r))))
      case FrameType.SnapshotChunk:
        return this.deliverIfComplete(this.assembler.append(payload))
      case FrameType.Forward:
        return this.ctx.deliverForward(sender, decodeForward(r))
      case FrameType.ReadIndexRequest:
        return this.ctx.deliverReadIndexRequest(sender, decodeReadIndexRequest(r))
      case FrameType.ReadIndexResponse:
        return this.ctx.deliverReadIndexResponse(sender, decodeReadIndexResponse(r))
      case FrameType.Call:
        return this.ctx.deliverCall(sender, decodeCall(r))
      case FrameType.CallResult:
        return this.ctx.deliverCallResult(sender, decodeCallResult(r))
      default:
        throw new PeerProtocolError(`frame type ${type} after the handshake`)
    }
  }

  private handleHello(type: FrameType, payload: Uint8Array): void {
    if (type === FrameType.ClusterInfoRequest) return this.answerClusterInfo(payload)
    if (type !== FrameType.Hello) throw new PeerProtocolError(`frame type ${type} before the hello`)
    const hello = decodeHello(new ByteReader(payload))
    const refusal = checkHello(hello, this.ctx.identity)
    const w = new ByteWriter(32)
    if (refusal !== undefined) {
      const why = describeRefusal(refusal, hello, "listener")
      this.ctx.logger.warn(`refused the peer connection from ${this.remoteAddress}: ${why}`)
      const start = beginFrame(w, FrameType.HelloRefused)
      encodeRefusal(w, refusal)
      endFrame(w, start)
      this.state = "closing" // the hello timer destroys it if the dialer does not hang up
      this.socket.end(w.take(0))
      return
    }
    clearTimeout(this.helloTimer)
    this.helloTimer = undefined
    this.state = "open"
    this.senderMemberId = hello.senderMemberId
    endFrame(w, beginFrame(w, FrameType.HelloAccepted))
    this.socket.write(w.take(0))
    this.ctx.logger.debug(`accepted a peer connection from ${this.describePeer()}`)
    this.ctx.accepted(this)
  }

  /** A node about to join asked who the cluster is: answer (same protocol version) and close. */
  private answerClusterInfo(payload: Uint8Array): void {
    const version = decodeClusterInfoRequest(new ByteReader(payload))
    const info = this.ctx.clusterInfo()
    if (version !== protocolVersion || info === undefined) {
      const why = info === undefined ? "this member does not answer it" : `protocol version ${version}`
      return this.drop(`a cluster info request refused: ${why}`)
    }
    this.ctx.logger.info(`answered a cluster info request from ${this.remoteAddress}`)
    const w = new ByteWriter(256)
    const start = beginFrame(w, FrameType.ClusterInfo)
    encodeClusterInfo(w, info)
    endFrame(w, start)
    this.state = "closing" // the hello timer destroys it if the asker does not hang up
    this.socket.end(w.take(0))
  }

  /** A message must be for us, and from the node the handshake named (when we know its Raft ID). */
  private checkAddress<T extends { readonly from: NodeId; readonly to: NodeId }>(m: T): T {
    const local = this.ctx.localRaftId
    if (m.to !== local) {
      throw new PeerProtocolError(`a message for node ${m.to}; this is node ${local}`)
    }
    const expectedFrom = this.ctx.raftIdOf(this.senderMemberId!)
    if (expectedFrom !== undefined && m.from !== expectedFrom) {
      const problem = `a message from node ${m.from} on the connection of node ${expectedFrom}`
      throw new PeerProtocolError(problem)
    }
    return m
  }

  private deliver(message: Message): void {
    this.ctx.deliverMessage(this.checkAddress(message))
  }

  private deliverIfComplete(message: Message | undefined): void {
    if (message !== undefined) this.ctx.deliverMessage(message)
  }
}
