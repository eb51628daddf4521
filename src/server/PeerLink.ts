// Connects a member's node loop to its peers: Raft messages, forwarded proposals and read index
// requests go out through the PeerTransport; what arrives is fed to the node. The peer set
// follows the replicated member registry.
import { PeerTransport } from "../platform/transport/PeerTransport.ts"
import type { PeerTlsFiles, TransportLogger } from "../platform/transport/TransportOptions.ts"
import type { LogIndex, Message, NodeId } from "../raft/Types.ts"
import { raftIdOf } from "./Identity.ts"
import type { Members } from "./Members.ts"
import type { NodeTransport, RaftNode } from "./RaftNode.ts"

export class PeerLink implements NodeTransport {
  readonly transport: PeerTransport
  private readonly selfMemberId: bigint
  private readonly members: () => Members
  private node: RaftNode | undefined
  /** Member ID by Raft ID, for the peers currently known. */
  private readonly memberIdByRaftId = new Map<NodeId, bigint>()
  /** The peer URLs each known peer was added with. */
  private readonly urlsByMemberId = new Map<bigint, string>()

  constructor(options: {
    readonly clusterId: bigint
    readonly memberId: bigint
    readonly members: () => Members
    readonly tls: PeerTlsFiles | undefined
    readonly logger: TransportLogger
  }) {
    this.selfMemberId = options.memberId
    this.members = options.members
    this.transport = new PeerTransport({
      clusterId: options.clusterId,
      memberId: options.memberId,
      raftId: raftIdOf(options.memberId),
      isMember: (id) => this.members().get(id) !== undefined,
      logger: options.logger,
      tls: options.tls,
    })
  }

  /** Starts delivering to `node`; call once, before listening. */
  attach(node: RaftNode): void {
    this.node = node
    const t = this.transport
    t.onMessage = (message) => node.push({ type: "Message", message })
    t.onForward = (_from, datas) => node.receiveForwardedProposals(datas)
    t.onReadIndexRequest = (from, request) => node.receiveReadIndexRequest(raftIdOf(from), request.requestId)
    t.onReadIndexResponse = (_from, response) => {
      if ("index" in response) node.readIndexAnswered(response.requestId, response.index as LogIndex)
    }
    t.onSnapshotSent = (to, success) => node.push({ type: "SnapshotReport", to, success })
    this.syncPeers()
  }

  /** Adds and removes peers to match the member registry (after each membership change). */
  syncPeers(): void {
    const wanted = new Map<bigint, ReadonlyArray<string>>()
    for (const member of this.members().list()) if (member.id !== this.selfMemberId) wanted.set(member.id, member.peerUrls)
    for (const [raftId, memberId] of this.memberIdByRaftId) {
      const urls = wanted.get(memberId)
      if (urls === undefined || urls.join() !== this.urlsByMemberId.get(memberId)) {
        this.transport.removePeer(memberId) // gone, or moved: dial afresh below
        this.memberIdByRaftId.delete(raftId)
        this.urlsByMemberId.delete(memberId)
      }
    }
    for (const [memberId, urls] of wanted) {
      const raftId = raftIdOf(memberId)
      if (this.memberIdByRaftId.has(raftId) || urls.length === 0) continue
      this.transport.addPeer(memberId, raftId, urls)
      this.memberIdByRaftId.set(raftId, memberId)
      this.urlsByMemberId.set(memberId, urls.join())
    }
  }

  memberIdOf(raftId: NodeId): bigint | undefined {
    return raftId === raftIdOf(this.selfMemberId) ? this.selfMemberId : this.memberIdByRaftId.get(raftId)
  }

  send(messages: ReadonlyArray<Message>): void {
    this.transport.send(messages)
  }

  forwardProposals(leader: NodeId, datas: ReadonlyArray<Uint8Array>): void {
    const memberId = this.memberIdByRaftId.get(leader)
    if (memberId !== undefined) this.transport.sendForward(memberId, datas)
  }

  requestReadIndex(leader: NodeId, context: number): void {
    const memberId = this.memberIdByRaftId.get(leader)
    if (memberId !== undefined) this.transport.sendReadIndexRequest(memberId, { requestId: context })
  }

  answerReadIndex(to: NodeId, context: number, index: LogIndex): void {
    const memberId = this.memberIdByRaftId.get(to)
    if (memberId !== undefined) this.transport.sendReadIndexResponse(memberId, { requestId: context, index })
  }

  close(): void {
    this.transport.close()
  }
}
