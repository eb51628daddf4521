// Membership changes as etcd's Cluster service makes them: each is one Raft configuration change
// whose Config entry carries the member's details, so Raft's voters and the member registry
// change together, in the same entry, on every replica.
import type { ConfChange } from "../raft/Api.ts"
import { GrpcError, Status } from "../platform/grpc/Status.ts"
import { encodeConfContext } from "./EntryData.ts"
import { computeMemberId, raftIdOf } from "./Identity.ts"
import type { Member, MemberChange } from "./Members.ts"
import { ConfChangeRejectedError, type RaftNode } from "./RaftNode.ts"
import type { ServerMachine } from "./ServerMachine.ts"

const ERR_MEMBER_NOT_FOUND = "etcdserver: member not found"
const ERR_PEER_URL_EXISTS = "etcdserver: Peer URLs already exists"
const ERR_NOT_LEARNER = "etcdserver: can only promote a learner member"
const ERR_LEARNER_NOT_READY = "etcdserver: can only promote a learner member which is in sync with leader"
/** etcd's bar for a learner to be promoted: its log matches at least this share of the leader's. */
const LEARNER_READY_PERCENT = 0.9
/** A change refused because another is still in flight is retried for this long. */
const PENDING_RETRY_MS = 5000

export class Membership {
  private readonly node: RaftNode
  private readonly machine: ServerMachine
  private readonly clusterToken: string

  constructor(node: RaftNode, machine: ServerMachine, clusterToken: string) {
    this.node = node
    this.machine = machine
    this.clusterToken = clusterToken
  }

  async add(peerUrls: ReadonlyArray<string>, isLearner: boolean): Promise<{ readonly added: Member; readonly members: ReadonlyArray<Member> }> {
    this.refuseUsedPeerUrls(peerUrls, undefined)
    // etcd mixes the time into a new member's ID, so a re-added member gets a new one.
    const id = computeMemberId(peerUrls, `${this.clusterToken}${Math.floor(Date.now() / 1000)}`)
    const change: MemberChange = { type: "Add", id, peerUrls, isLearner }
    const members = await this.propose([{ type: isLearner ? "AddLearner" : "AddVoter", id: raftIdOf(id) }], change)
    const added = members.find((m) => m.id === id)
    if (added === undefined) throw new GrpcError(Status.INTERNAL, "etcdserver: the added member is missing")
    return { added, members }
  }

  async remove(id: bigint): Promise<ReadonlyArray<Member>> {
    this.known(id)
    return this.propose([{ type: "RemoveNode", id: raftIdOf(id) }], { type: "Remove", id })
  }

  async update(id: bigint, peerUrls: ReadonlyArray<string>): Promise<ReadonlyArray<Member>> {
    this.known(id)
    this.refuseUsedPeerUrls(peerUrls, id)
    // No voter changes: the Config entry only carries the new URLs to every replica.
    return this.propose([], { type: "Update", id, peerUrls })
  }

  async promote(id: bigint): Promise<ReadonlyArray<Member>> {
    const member = this.known(id)
    if (!member.isLearner) throw new GrpcError(Status.FAILED_PRECONDITION, ERR_NOT_LEARNER)
    const match = this.node.matchIndexOf(raftIdOf(id))
    if (this.node.role === "Leader" && (match === undefined || match < this.node.lastIndex * LEARNER_READY_PERCENT)) {
      throw new GrpcError(Status.FAILED_PRECONDITION, ERR_LEARNER_NOT_READY)
    }
    return this.propose([{ type: "AddVoter", id: raftIdOf(id) }], { type: "Promote", id })
  }

  private known(id: bigint): Member {
    const member = this.machine.members.get(id)
    if (member === undefined) throw new GrpcError(Status.NOT_FOUND, ERR_MEMBER_NOT_FOUND)
    return member
  }

  private refuseUsedPeerUrls(peerUrls: ReadonlyArray<string>, except: bigint | undefined): void {
    for (const member of this.machine.members.list()) {
      if (member.id === except) continue
      if (member.peerUrls.some((url) => peerUrls.includes(url))) throw new GrpcError(Status.FAILED_PRECONDITION, ERR_PEER_URL_EXISTS)
    }
  }

  private async propose(changes: ReadonlyArray<ConfChange>, change: MemberChange): Promise<ReadonlyArray<Member>> {
    const deadline = Date.now() + PENDING_RETRY_MS
    for (;;) {
      const requestId = this.node.newRequestId()
      try {
        return (await this.node.proposeConfChange(requestId, changes, encodeConfContext(requestId, change))) as ReadonlyArray<Member>
      } catch (error) {
        if (!(error instanceof ConfChangeRejectedError)) throw error
        if (error.rejection === "NotLeader") throw new GrpcError(Status.UNAVAILABLE, "etcdserver: not leader: send membership changes to the leader")
        if (error.rejection !== "ConfChangePending" || Date.now() > deadline) {
          throw new GrpcError(Status.FAILED_PRECONDITION, `etcdserver: membership change refused (${error.rejection})`)
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }
}
