// etcdserverpb.Cluster: the member list and membership changes.
import type { Header } from "../codec/KvCodec.ts"
import {
  type Member,
  readMemberAddRequest,
  readMemberUpdateRequest,
  readUint64Field1,
  writeMemberAddResponse,
  writeMembersResponse,
} from "../codec/MaintenanceCodec.ts"
import type { Method } from "../Server.ts"
import { encodeMessage, ProtoReader } from "../Wire.ts"

export interface ClusterBackend {
  /** Membership answers carry no revision in their header, as etcd's. */
  header(): Header
  members(): Promise<ReadonlyArray<Member>>
  add(peerUrls: ReadonlyArray<string>, isLearner: boolean): Promise<{ readonly added: Member; readonly members: ReadonlyArray<Member> }>
  remove(id: bigint): Promise<ReadonlyArray<Member>>
  update(id: bigint, peerUrls: ReadonlyArray<string>): Promise<ReadonlyArray<Member>>
  promote(id: bigint): Promise<ReadonlyArray<Member>>
}

function unary(handle: (request: Buffer) => Promise<Uint8Array>): Method {
  return { kind: "unary", handle }
}

export function clusterMethods(backend: ClusterBackend): Map<string, Method> {
  const membersAnswer = (members: ReadonlyArray<Member>): Uint8Array =>
    encodeMessage((w) => writeMembersResponse(w, backend.header(), members))
  return new Map<string, Method>([
    ["/etcdserverpb.Cluster/MemberList", unary(async () => membersAnswer(await backend.members()))],
    ["/etcdserverpb.Cluster/MemberAdd", unary(async (bytes) => {
      const request = readMemberAddRequest(new ProtoReader(bytes))
      const { added, members } = await backend.add(request.peerUrls, request.isLearner)
      return encodeMessage((w) => writeMemberAddResponse(w, backend.header(), added, members))
    })],
    ["/etcdserverpb.Cluster/MemberRemove", unary(async (bytes) => membersAnswer(await backend.remove(readUint64Field1(new ProtoReader(bytes)))))],
    ["/etcdserverpb.Cluster/MemberUpdate", unary(async (bytes) => {
      const request = readMemberUpdateRequest(new ProtoReader(bytes))
      return membersAnswer(await backend.update(request.id, request.peerUrls))
    })],
    ["/etcdserverpb.Cluster/MemberPromote", unary(async (bytes) => membersAnswer(await backend.promote(readUint64Field1(new ProtoReader(bytes)))))],
  ])
}
