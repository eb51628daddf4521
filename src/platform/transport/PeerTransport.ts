// Raft's network between members: one outbound connection per peer for what we send it, and the
// connections peers dial to us for what they send. `send` routes each message by its Raft ID to
// the peer's queue; everything queued in one event-loop turn leaves in one corked write per peer.
// Callbacks deliver what arrives (set them before `listen`, as RaftNode's onEvents is set).
import * as net from "node:net"
import * as tls from "node:tls"
import { assert } from "../../assert.ts"
import type { Message, NodeId } from "../../raft/Types.ts"
import type { Call, CallResult, ReadIndexRequest, ReadIndexResponse } from "./AppFrames.ts"
import { hex, protocolVersion, type Hello } from "./Handshake.ts"
import { InboundConnection, type InboundContext } from "./InboundConnection.ts"
import {
  OutboundPeer, type OutboundContext, type OutboundItem, type OutboundState,
} from "./OutboundPeer.ts"
import { parsePeerUrl } from "./PeerUrl.ts"
import { loadPeerTls, type PeerTlsOptions } from "./PeerTls.ts"
import {
  defaultTransportLimits, validateLimits, type PeerTransportOptions, type TransportLimits,
} from "./TransportOptions.ts"

export interface PeerStats {
  readonly memberId: bigint
  readonly raftId: NodeId
  /** The URL in use (or last tried), host:port. */
  readonly address: string
  readonly state: OutboundState
  readonly queuedItems: number
  readonly sentItems: number
  /** Items dropped: queue full, no connection, over the frame maximum. */
  readonly droppedItems: number
  /** Why the last attempt failed ("" once connected). */
  readonly lastFailure: string
}

export class PeerTransport {
  onMessage: (message: Message) => void = () => {}
  onForward: (fromMemberId: bigint, datas: Uint8Array[]) => void = () => {}
  onReadIndexRequest: (fromMemberId: bigint, request: ReadIndexRequest) => void = () => {}
  onReadIndexResponse: (fromMemberId: bigint, response: ReadIndexResponse) => void = () => {}
  /** Whether a snapshot was written out whole (feed it to Raft as a SnapshotReport). */
  onSnapshotSent: (to: NodeId, success: boolean) => void = () => {}
  /** A peer's outbound connection came up (true) or was lost (false): Raft's "unreachable". */
  onPeerActive: (memberId: bigint, active: boolean) => void = () => {}
  onCall: (fromMemberId: bigint, call: Call) => void = () => {}
  onCallResult: (fromMemberId: bigint, result: CallResult) => void = () => {}
  /** A peer refused us because we were removed from the cluster (etcd then stops). */
  onRemovedFromCluster: (byMemberId: bigint) => void = () => {}

  private readonly options: PeerTransportOptions
  readonly limits: TransportLimits
  private readonly tls: PeerTlsOptions | undefined
  private readonly peersByMember = new Map<bigint, OutboundPeer>()
  private readonly peersByRaftId = new Map<NodeId, OutboundPeer>()
  private readonly inbound = new Set<InboundConnection>()
  private readonly sockets = new Set<net.Socket>()
  private server: net.Server | undefined = undefined
  private readonly dirty = new Set<OutboundPeer>()
  private flushHandle: NodeJS.Immediate | undefined = undefined
  private closed = false
  /** Messages for a Raft ID that is no peer of ours. */
  droppedUnroutable = 0
  private readonly outboundContext: OutboundContext
  private readonly inboundContext: InboundContext

  constructor(options: PeerTransportOptions) {
    this.options = options
    this.limits = { ...defaultTransportLimits, ...options.limits }
    validateLimits(this.limits)
    const tlsFiles = options.tls
    const timeoutMs = this.limits.helloTimeoutMs
    this.tls = tlsFiles === undefined ? undefined : loadPeerTls(tlsFiles, timeoutMs)
    this.outboundContext = this.makeOutboundContext()
    this.inboundContext = this.makeInboundContext()
  }

  private makeOutboundContext(): OutboundContext {
    const { clusterId, memberId } = this.options
    return {
      limits: this.limits,
      logger: this.options.logger,
      hello: (receiverMemberId): Hello =>
        ({ version: protocolVersion, clusterId, senderMemberId: memberId, receiverMemberId }),
      clientTls: this.tls?.client,
      random: this.options.random ?? Math.random,
      requestFlush: (peer) => this.requestFlush(peer),
      peerActive: (peer, active) => {
        if (!this.closed) this.onPeerActive(peer.memberId, active)
      },
      // Deferred: a drop inside `send` must not call back into the caller while it is sending.
      snapshotSent: (to, success) => queueMicrotask(() => {
        if (!this.closed) this.onSnapshotSent(to, success)
      }),
      refused: (peer, reason) => {
        if (!this.closed && reason === "RemovedSender") this.onRemovedFromCluster(peer.memberId)
      },
    }
  }

  private makeInboundContext(): InboundContext {
    const { clusterId, memberId, isMember, isRemoved, clusterInfo } = this.options
    return {
      identity: { clusterId, memberId, isMember, isRemoved },
      localRaftId: this.options.raftId,
      limits: this.limits,
      logger: this.options.logger,
      raftIdOf: (member) => this.peersByMember.get(member)?.raftId,
      accepted: (connection) => this.closeOlderInbound(connection),
      closed: (connection) => this.inbound.delete(connection),
      deliverMessage: (message) => this.onMessage(message),
      deliverForward: (from, datas) => this.onForward(from, datas),
      deliverReadIndexRequest: (from, request) => this.onReadIndexRequest(from, request),
      deliverReadIndexResponse: (from, response) => this.onReadIndexResponse(from, response),
      deliverCall: (from, call) => this.onCall(from, call),
      deliverCallResult: (from, result) => this.onCallResult(from, result),
      clusterInfo: () => clusterInfo?.(),
    }
  }

  /**
   * A peer dials us on one connection at a time, so its older connections are stale: it lost
   * them without our noticing (a silent network, a proxy). Closing them frees their sockets.
   */
  private closeOlderInbound(newest: InboundConnection): void {
    for (const connection of this.inbound) {
      if (connection !== newest && connection.senderMemberId === newest.senderMemberId) {
        this.options.logger.info(`closing a stale peer connection from ${connection.remoteAddress}`)
        connection.close()
      }
    }
  }

  /** Accepts peers on host:port (TLS if the transport has TLS files); port 0 picks a port. */
  listen(host: string, port: number): Promise<{ readonly host: string; readonly port: number }> {
    assert(this.server === undefined, "PeerTransport.listen: already listening")
    assert(!this.closed, "PeerTransport.listen: closed")
    const accept = (socket: net.Socket): void => {
      if (this.closed) return void socket.destroy()
      this.inbound.add(new InboundConnection(socket, this.inboundContext))
    }
    const secure = this.tls
    const server = secure === undefined ? net.createServer(accept) : tls.createServer(secure.server)
    if (secure !== undefined) {
      server.on("secureConnection", (socket: tls.TLSSocket) => this.acceptSecure(socket, accept))
    }
    server.on("tlsClientError", (error: Error & { reason?: string }, socket: tls.TLSSocket) =>
      // OpenSSL's errors carry a short `reason` ("wrong version number") beside a long message.
      this.logTlsRefusal(socket, `TLS handshake failed: ${error.reason ?? error.message.trim()}`))
    // Every accepted TCP socket, those in a TLS handshake too, so that close() ends them all.
    server.on("connection", (socket: net.Socket) => {
      this.sockets.add(socket)
      socket.once("close", () => this.sockets.delete(socket))
    })
    this.server = server
    return new Promise((resolve, reject) => {
      server.once("error", reject)
      server.listen(port, host, () => {
        server.off("error", reject)
        server.on("error", (error) => this.options.logger.warn(`peer listener: ${error.message}`))
        const address = server.address()
        assert(typeof address === "object" && address !== null, "PeerTransport.listen: no address")
        resolve({ host, port: address.port })
      })
    })
  }

  /**
   * The listener asks for a certificate without letting OpenSSL reject it, and checks the result
   * here, so that a refusal is logged with the dialer's address and the verification error.
   */
  private acceptSecure(socket: tls.TLSSocket, accept: (socket: net.Socket) => void): void {
    if (this.options.tls?.clientCertAuth === true && !socket.authorized) {
      const error = String(socket.authorizationError ?? "none given")
      this.logTlsRefusal(socket, `client certificate refused: ${error}`)
      return void socket.destroy()
    }
    accept(socket)
  }

  private logTlsRefusal(socket: tls.TLSSocket, reason: string): void {
    const address = socket.remoteAddress
    const from = address === undefined ? "" : ` from ${address}:${socket.remotePort ?? "?"}`
    this.options.logger.warn(`rejected a peer TLS connection${from}: ${reason}`)
  }

  /** Starts (or updates the URLs of) the outbound connection to a member. */
  addPeer(memberId: bigint, raftId: NodeId, urls: ReadonlyArray<string>): void {
    assert(!this.closed, "PeerTransport.addPeer: closed")
    assert(memberId !== this.options.memberId, "PeerTransport.addPeer: no peer of itself")
    const parsed = urls.map(parsePeerUrl)
    const existing = this.peersByMember.get(memberId)
    if (existing !== undefined) {
      assert(existing.raftId === raftId, "PeerTransport.addPeer: a member's Raft ID changed")
      return existing.updateUrls(parsed)
    }
    assert(!this.peersByRaftId.has(raftId), "PeerTransport.addPeer: two members with one Raft ID")
    const peer = new OutboundPeer(memberId, raftId, parsed, this.outboundContext)
    this.peersByMember.set(memberId, peer)
    this.peersByRaftId.set(raftId, peer)
  }

  /** Ends all traffic with a member, both ways (it was removed from the cluster). */
  removePeer(memberId: bigint): void {
    const peer = this.peersByMember.get(memberId)
    if (peer !== undefined) {
      peer.close()
      this.peersByMember.delete(memberId)
      this.peersByRaftId.delete(peer.raftId)
      this.dirty.delete(peer)
    }
    for (const connection of this.inbound) {
      if (connection.senderMemberId === memberId) connection.close()
    }
  }

  send(messages: ReadonlyArray<Message>): void {
    for (const message of messages) {
      const peer = this.peersByRaftId.get(message.to)
      if (peer === undefined) {
        this.droppedUnroutable++
        const isSnapshot = message.type === "InstallSnapshotRequest"
        if (isSnapshot) this.outboundContext.snapshotSent(message.to, false)
        continue
      }
      peer.enqueue({ kind: "message", message })
    }
  }

  /** Proposals for the leader to replicate. False if dropped (unknown member, queue full, down). */
  sendForward(toMemberId: bigint, datas: ReadonlyArray<Uint8Array>): boolean {
    return this.enqueueFor(toMemberId, { kind: "forward", datas })
  }

  sendReadIndexRequest(toMemberId: bigint, request: ReadIndexRequest): boolean {
    return this.enqueueFor(toMemberId, { kind: "readIndexRequest", request })
  }

  sendReadIndexResponse(toMemberId: bigint, response: ReadIndexResponse): boolean {
    return this.enqueueFor(toMemberId, { kind: "readIndexResponse", response })
  }

  sendCall(toMemberId: bigint, call: Call): boolean {
    return this.enqueueFor(toMemberId, { kind: "call", call })
  }

  sendCallResult(toMemberId: bigint, result: CallResult): boolean {
    return this.enqueueFor(toMemberId, { kind: "callResult", result })
  }

  /** TLS options for dialing peers (https:// URLs), for one-off requests like cluster info. */
  get clientTls(): tls.ConnectionOptions | undefined {
    return this.tls?.client
  }

  private enqueueFor(memberId: bigint, item: OutboundItem): boolean {
    const peer = this.peersByMember.get(memberId)
    if (peer === undefined) {
      this.droppedUnroutable++
      return false
    }
    return peer.enqueue(item)
  }

  private requestFlush(peer: OutboundPeer): void {
    if (this.closed) return
    this.dirty.add(peer)
    this.flushHandle ??= setImmediate(() => this.flushDirty())
  }

  private flushDirty(): void {
    this.flushHandle = undefined
    const peers = [...this.dirty]
    this.dirty.clear()
    for (const peer of peers) peer.flush()
  }

  peerStats(): PeerStats[] {
    return [...this.peersByMember.values()].map((peer) => ({
      memberId: peer.memberId,
      raftId: peer.raftId,
      address: peer.address,
      state: peer.state,
      queuedItems: peer.queuedItems,
      sentItems: peer.sentItems,
      droppedItems: peer.droppedItems,
      lastFailure: peer.lastFailureReason,
    }))
  }

  /** Members whose outbound connection is not up (for logs and metrics). */
  unreachablePeers(): bigint[] {
    const down = [...this.peersByMember.values()].filter((p) => p.state !== "connected")
    return down.map((p) => p.memberId)
  }

  /** Closes every connection and the listener, and clears every timer. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.flushHandle !== undefined) clearImmediate(this.flushHandle)
    this.flushHandle = undefined
    this.dirty.clear()
    for (const peer of this.peersByMember.values()) peer.close()
    this.peersByMember.clear()
    this.peersByRaftId.clear()
    for (const connection of this.inbound) connection.close()
    for (const socket of this.sockets) socket.destroy()
    const server = this.server
    if (server === undefined) return
    await new Promise<void>((resolve) => server.close(() => resolve()))
    this.options.logger.debug(`peer transport of member ${hex(this.options.memberId)} closed`)
  }
}
