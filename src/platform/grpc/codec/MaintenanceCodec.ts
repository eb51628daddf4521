// etcdserverpb Maintenance and Cluster messages. Field numbers from etcd's rpc.proto (facts).
import { readField1, type ProtoReader, type ProtoWriter } from "../Wire.ts"
import { type Header, writeHeader } from "./KvCodec.ts"

export interface StatusResponse {
  readonly version: string
  readonly dbSize: number
  readonly leader: bigint
  readonly raftIndex: number
  readonly raftTerm: number
  readonly raftAppliedIndex: number
  readonly errors: ReadonlyArray<string>
  readonly dbSizeInUse: number
  readonly isLearner: boolean
}

export function writeStatusResponse(w: ProtoWriter, header: Header, status: StatusResponse): void {
  writeHeader(w, 1, header)
  w.string(2, status.version)
  w.int64(3, status.dbSize)
  w.int64Big(4, status.leader)
  w.uint(5, status.raftIndex)
  w.uint(6, status.raftTerm)
  w.uint(7, status.raftAppliedIndex)
  for (const error of status.errors) w.string(8, error)
  w.int64(9, status.dbSizeInUse)
  w.bool(10, status.isLearner)
}

/** HashKVRequest.revision, and any request whose only field is an int64 in field 1. */
export function readInt64Field1(r: ProtoReader): number {
  return readField1(r, (field) => field.int64(), 0)
}

/** MoveLeaderRequest.targetID, MemberRemoveRequest.ID, MemberPromoteRequest.ID. */
export function readUint64Field1(r: ProtoReader): bigint {
  return readField1(r, (field) => field.uint64Big(), 0n)
}

export function writeHashResponse(w: ProtoWriter, header: Header, hash: number): void {
  writeHeader(w, 1, header)
  w.uint(2, hash)
}

export function writeHashKvResponse(w: ProtoWriter, header: Header, hash: number, compactRevision: number): void {
  writeHeader(w, 1, header)
  w.uint(2, hash)
  w.int64(3, compactRevision)
}

export function writeSnapshotChunk(w: ProtoWriter, header: Header, remainingBytes: number, blob: Uint8Array): void {
  writeHeader(w, 1, header)
  w.uint(2, remainingBytes)
  w.bytes(3, blob)
}

export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const

export interface AlarmRequest {
  readonly action: number
  readonly memberId: bigint
  readonly alarm: number
}

export function readAlarmRequest(r: ProtoReader): AlarmRequest {
  let action = 0, memberId = 0n, alarm = 0
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: action = r.uint32(); break
      case 2: memberId = r.uint64Big(); break
      case 3: alarm = r.uint32(); break
      default: r.skip(tag & 7)
    }
  }
  return { action, memberId, alarm }
}

export function writeAlarmResponse(
  w: ProtoWriter,
  header: Header,
  alarms: ReadonlyArray<{ readonly memberId: bigint; readonly alarm: number }>,
): void {
  writeHeader(w, 1, header)
  for (const alarm of alarms) {
    w.fork(2)
    w.int64Big(1, alarm.memberId)
    w.uint(2, alarm.alarm)
    w.join()
  }
}

export interface Member {
  readonly id: bigint
  readonly name: string
  readonly peerUrls: ReadonlyArray<string>
  readonly clientUrls: ReadonlyArray<string>
  readonly isLearner: boolean
}

/** MemberListResponse (and the members of the other Member* responses, field 2). */
export function writeMembersResponse(w: ProtoWriter, header: Header, members: ReadonlyArray<Member>): void {
  writeHeader(w, 1, header)
  for (const member of members) writeMember(w, 2, member)
}

/** MemberAddRequest (peerURLs = 1, isLearner = 2) and MemberUpdateRequest (ID = 1, peerURLs = 2). */
export function readMemberAddRequest(r: ProtoReader): { readonly peerUrls: string[]; readonly isLearner: boolean } {
  const peerUrls: string[] = []
  let isLearner = false
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: peerUrls.push(r.string()); break
      case 2: isLearner = r.bool(); break
      default: r.skip(tag & 7)
    }
  }
  return { peerUrls, isLearner }
}

export function readMemberUpdateRequest(r: ProtoReader): { readonly id: bigint; readonly peerUrls: string[] } {
  const peerUrls: string[] = []
  let id = 0n
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: id = r.uint64Big(); break
      case 2: peerUrls.push(r.string()); break
      default: r.skip(tag & 7)
    }
  }
  return { id, peerUrls }
}

function writeMember(w: ProtoWriter, field: number, member: Member): void {
  w.fork(field)
  w.int64Big(1, member.id)
  w.string(2, member.name)
  for (const url of member.peerUrls) w.string(3, url)
  for (const url of member.clientUrls) w.string(4, url)
  w.bool(5, member.isLearner)
  w.join()
}

export function writeMemberAddResponse(w: ProtoWriter, header: Header, added: Member, members: ReadonlyArray<Member>): void {
  writeHeader(w, 1, header)
  writeMember(w, 2, added)
  for (const member of members) writeMember(w, 3, member)
}
