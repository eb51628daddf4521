// Connects a member's node loop to its peers: Raft messages, forwarded proposals and read index
// requests go out through the PeerTransport; what arrives is fed to the node. The peer set
// follows the replicated member registry (for a member that joined, also the members the cluster
// had when it joined, until its registry knows itself: they are its leader and peers meanwhile).
import type { ClusterInfo } from "../platform/transport/ClusterInfo.ts"
import { PeerTransport } from "../platform/transport/PeerTransport.ts"
import type { PeerTlsFiles, TransportLogger } from "../platform/transport/TransportOptions.ts"
import type { LogIndex, Message, NodeId } from "../raft/Types.ts"
import { raftIdOf } from "./Identity.ts"
import type { IdentifiedMember } from "./Identity.ts"
import type { Members } from "./Members.ts"
import { PeerCalls } from "./PeerCalls.ts"
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
  private readonly joinedWith: ReadonlyArray<IdentifiedMember>
  readonly calls: PeerCalls

  constructor(options: {
    readonly clusterId: bigint
    readonly memberId: bigint
    readonly members: () => Members
    readonly joinedWith: ReadonlyArray<IdentifiedMember> | undefined
    /** What this member tells a node about to join. */
    readonly clusterInfo: () => ClusterInfo
    readonly tls: PeerTlsFiles | undefined
    readonly logger: TransportLogger
  }) {
    this.selfMemberId = options.memberId
    this.members = options.members
    this.joinedWith = options.joinedWith ?? []
    this.transport = new PeerTransport({
      clusterId: options.clusterId,
      memberId: options.memberId,
      raftId: raftIdOf(options.memberId),
      isMember: (id) => this.knownMembers().has(id),
      isRemoved: (id) => this.members().isRemoved(id),
      clusterInfo: options.clusterInfo,
      logger: options.logger,
      tls: options.tls,
    })
    this.calls = new PeerCalls(this.transport)
  }

  /** Peer URLs by member ID: the registry, and the members at join time until it knows us. */
  private knownMembers(): Map<bigint, ReadonlyArray<string>> {
    const registry = this.members()
    const known = new Map<bigint, ReadonlyArray<string>>()
    if (registry.get(this.selfMemberId) === undefined) {
      for (const member of this.joinedWith) if (!registry.isRemoved(member.id)) known.set(member.id, member.peerUrls)
    }
    for (const member of registry.list()) known.set(member.id, member.peerUrls)
    return known
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
    t.onCall = (from, call) => this.calls.received(from, call)
    t.onCallResult = (_from, result) => this.calls.resultReceived(result)
    this.syncPeers()
  }

  /** Adds and removes peers to match the member registry (after each membership change). */
  syncPeers(): void {
    const wanted = this.knownMembers()
    wanted.delete(this.selfMemberId)
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
    this.calls.close()
    this.transport.close()
  }
}
