// What the server puts in Raft entries. A Normal entry: a kind byte, the proposing node's request
// ID (so the proposer finds its waiting client when the entry is applied; other members apply the
// same entry and find no waiter, as with etcd's InternalRaftRequest header), then the body.
// A Config entry's context: the request ID, then the member change as JSON.
import { decodeCommand, encodeCommand } from "../kv/index.ts"
import type { KvCommand } from "../kv/Api.ts"
import { AlarmAction } from "../platform/grpc/codec/MaintenanceCodec.ts"
import type { MemberChange } from "./Members.ts"

const KIND_KV = 0
const KIND_PUBLISH = 1
const KIND_ALARM = 2
const HEADER_BYTES = 9
/** An alarm entry's body: action u8, member ID u64, alarm type u32. */
const ALARM_BODY_BYTES = 13

export type EntryPayload =
  | { readonly kind: "Kv"; readonly requestId: bigint; readonly command: KvCommand }
  /** A member announces its name and client URLs (etcd's "publish" at startup). */
  | { readonly kind: "Publish"; readonly requestId: bigint; readonly member: PublishedAttributes }
  /** An alarm raised or cleared, for the whole cluster (etcd's AlarmRequest through Raft). */
  | { readonly kind: "Alarm"; readonly requestId: bigint; readonly change: AlarmChange }

/** The AlarmRequest actions that change state (GET is answered from local state). */
export type AlarmChangeAction = typeof AlarmAction.ACTIVATE | typeof AlarmAction.DEACTIVATE

export interface AlarmChange {
  readonly action: AlarmChangeAction
  readonly memberId: bigint
  /** etcd's AlarmType: 1 NOSPACE, 2 CORRUPT. */
  readonly alarm: number
}

export interface PublishedAttributes {
  readonly id: bigint
  readonly name: string
  readonly clientUrls: ReadonlyArray<string>
}

function withHeader(kind: number, requestId: bigint, body: Uint8Array): Uint8Array {
  const data = new Uint8Array(HEADER_BYTES + body.length)
  const view = new DataView(data.buffer)
  view.setUint8(0, kind)
  view.setBigUint64(1, requestId)
  data.set(body, HEADER_BYTES)
  return data
}

export function encodeKvEntry(requestId: bigint, command: KvCommand): Uint8Array {
  const data = encodeCommand(command, HEADER_BYTES)
  const view = new DataView(data.buffer, data.byteOffset, data.length)
  view.setUint8(0, KIND_KV)
  view.setBigUint64(1, requestId)
  return data // exact size, carved from encodeCommand's pool (kv/BytePool.ts)
}

export function encodePublishEntry(requestId: bigint, member: PublishedAttributes): Uint8Array {
  const json = JSON.stringify({ id: String(member.id), name: member.name, clientUrls: member.clientUrls })
  return withHeader(KIND_PUBLISH, requestId, new TextEncoder().encode(json))
}

export function encodeAlarmEntry(requestId: bigint, change: AlarmChange): Uint8Array {
  const body = new Uint8Array(ALARM_BODY_BYTES)
  const view = new DataView(body.buffer)
  view.setUint8(0, change.action)
  view.setBigUint64(1, change.memberId)
  view.setUint32(9, change.alarm)
  return withHeader(KIND_ALARM, requestId, body)
}

export function decodeEntryPayload(data: Uint8Array): EntryPayload {
  if (data.length < HEADER_BYTES) throw new Error("entry data: too short")
  const view = new DataView(data.buffer, data.byteOffset, data.length)
  const requestId = view.getBigUint64(1)
  switch (data[0]) {
    case KIND_KV: return { kind: "Kv", requestId, command: decodeCommand(data, HEADER_BYTES) }
    case KIND_PUBLISH: {
      const body = data.subarray(HEADER_BYTES)
      const parsed = JSON.parse(new TextDecoder().decode(body)) as { id: string; name: string; clientUrls: string[] }
      return { kind: "Publish", requestId, member: { id: BigInt(parsed.id), name: parsed.name, clientUrls: parsed.clientUrls } }
    }
    case KIND_ALARM: {
      if (data.length !== HEADER_BYTES + ALARM_BODY_BYTES) throw new Error("entry data: alarm of the wrong length")
      const action = view.getUint8(HEADER_BYTES)
      if (action !== AlarmAction.ACTIVATE && action !== AlarmAction.DEACTIVATE) throw new Error(`entry data: unknown alarm action ${action}`)
      const change = { action, memberId: view.getBigUint64(HEADER_BYTES + 1), alarm: view.getUint32(HEADER_BYTES + 9) }
      return { kind: "Alarm", requestId, change }
    }
    default: throw new Error(`entry data: unknown kind ${data[0]}`)
  }
}

export function encodeConfContext(requestId: bigint, change: MemberChange): Uint8Array {
  const json = JSON.stringify(change, (_key, value) => (typeof value === "bigint" ? `${value}n` : value))
  const body = new TextEncoder().encode(json)
  const data = new Uint8Array(8 + body.length)
  new DataView(data.buffer).setBigUint64(0, requestId)
  data.set(body, 8)
  return data
}

/** Undefined for a Config entry without context (leaving a joint configuration). */
export function decodeConfContext(data: Uint8Array): { readonly requestId: bigint; readonly change: MemberChange } | undefined {
  if (data.length === 0) return undefined
  const requestId = new DataView(data.buffer, data.byteOffset, data.length).getBigUint64(0)
  const change = JSON.parse(new TextDecoder().decode(data.subarray(8)), (_key, value) =>
    typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value) as MemberChange
  return { requestId, change }
}
