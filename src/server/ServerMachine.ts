// The replicated state machine of a verikv member: the KV core, plus the member registry, plus
// what etcd keeps beside them (the backend size for the space quota, the raised alarms).
import type { Event, KvCommand, KvResult } from "../kv/Api.ts"
import { EventType } from "../kv/Api.ts"
import { apply, newStore, type KvConfig, type KvStore } from "../kv/index.ts"
import { decodeStoreSnapshot, encodeStoreSnapshot } from "../kv/Snapshot.ts"
import type { Entry } from "../raft/Types.ts"
import { AlarmAction } from "../platform/grpc/codec/MaintenanceCodec.ts"
import { decodeConfContext, decodeEntryPayload, encodeKvEntry, type AlarmChange } from "./EntryData.ts"
import { type Member, Members } from "./Members.ts"
import type { Applied, StateMachine } from "./RaftNode.ts"

/** Bytes a stored revision costs beyond its key and value (bolt page and index overhead, roughly). */
const RECORD_OVERHEAD_BYTES = 64
/** Snapshots: "vsv1" holds members and store; "vsv2" also the alarms. Both are read. */
const SNAPSHOT_MAGIC_V1 = 0x76737631
const SNAPSHOT_MAGIC = 0x76737632
const ALARM_BYTES = 12
const NO_EVENTS: ReadonlyArray<Event> = []

/** An alarm raised in the cluster: by which member, and which (etcd's AlarmMember). */
export interface AlarmMember {
  readonly memberId: bigint
  readonly alarm: number
}

export class ServerMachine implements StateMachine {
  store: KvStore
  members: Members
  private readonly kvConfig: Partial<KvConfig>
  /**
   * etcd's backend size, estimated: it grows with every stored revision and, as etcd's bolt file,
   * shrinks only on defragmentation, not on compaction.
   */
  dbSizeBytes = 0
  /**
   * The alarms raised in the cluster, as etcd's alarm store: replicated through Raft and kept in
   * snapshots, so every member refuses writes under NOSPACE and a restart keeps the alarm.
   */
  alarms: Array<AlarmMember> = []
  /** Called with each applied KV command's result (after the store changed). */
  onKvApplied: (command: KvCommand, result: KvResult) => void = () => {}
  /** Called after each applied membership change or publish. */
  onMembersChanged: () => void = () => {}

  constructor(kvConfig: Partial<KvConfig>, members: Members) {
    this.kvConfig = kvConfig
    this.store = newStore(kvConfig)
    this.members = members
  }

  applyEntry(entry: Entry): Applied {
    if (entry.type === "Config") {
      const context = decodeConfContext(entry.data)
      if (context === undefined) return { requestId: undefined, result: undefined, events: NO_EVENTS }
      this.members.apply(context.change)
      this.onMembersChanged()
      return { requestId: context.requestId, result: this.members.list(), events: NO_EVENTS }
    }
    const payload = decodeEntryPayload(entry.data)
    switch (payload.kind) {
      case "Kv": {
        const applied = apply(this.store, payload.command)
        for (const event of applied.events) {
          this.dbSizeBytes += event.kv.key.length + RECORD_OVERHEAD_BYTES + (event.type === EventType.PUT ? event.kv.value.length : 0)
        }
        this.onKvApplied(payload.command, applied.result)
        return { requestId: payload.requestId, result: applied.result, events: applied.events }
      }
      case "Publish":
        this.members.publish(payload.member.id, payload.member.name, payload.member.clientUrls)
        this.onMembersChanged()
        return { requestId: payload.requestId, result: undefined, events: NO_EVENTS }
      case "Alarm":
        return { requestId: payload.requestId, result: this.applyAlarm(payload.change), events: NO_EVENTS }
    }
  }

  /** As etcd: activating answers the alarm (new or already raised); deactivating, the one cleared if any. */
  private applyAlarm(change: AlarmChange): ReadonlyArray<AlarmMember> {
    const at = this.alarms.findIndex((a) => a.memberId === change.memberId && a.alarm === change.alarm)
    const alarm = { memberId: change.memberId, alarm: change.alarm }
    if (change.action === AlarmAction.ACTIVATE) {
      if (at < 0) this.alarms = [...this.alarms, alarm].sort(byMemberThenAlarm)
      return [alarm]
    }
    if (at < 0) return []
    this.alarms = this.alarms.filter((_, k) => k !== at)
    return [alarm]
  }

  hasAlarm(alarm: number): boolean {
    return this.alarms.some((a) => a.alarm === alarm)
  }

  /** What defragmentation would leave: the size of the retained state. */
  defragment(): void {
    this.dbSizeBytes = encodeStoreSnapshot(this.store).length
  }

  snapshot(): Uint8Array {
    const members = this.members.encode()
    const store = encodeStoreSnapshot(this.store)
    const alarmsBytes = 4 + this.alarms.length * ALARM_BYTES
    const data = new Uint8Array(8 + members.length + alarmsBytes + store.length)
    const view = new DataView(data.buffer)
    view.setUint32(0, SNAPSHOT_MAGIC)
    view.setUint32(4, members.length)
    data.set(members, 8)
    let at = 8 + members.length
    view.setUint32(at, this.alarms.length)
    at += 4
    for (const alarm of this.alarms) {
      view.setBigUint64(at, alarm.memberId)
      view.setUint32(at + 8, alarm.alarm)
      at += ALARM_BYTES
    }
    data.set(store, at)
    return data
  }

  restore(data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.length)
    const magic = data.length < 8 ? 0 : view.getUint32(0)
    if (magic !== SNAPSHOT_MAGIC && magic !== SNAPSHOT_MAGIC_V1) throw new Error("server snapshot: unknown format")
    const membersLength = view.getUint32(4)
    let at = 8 + membersLength
    const alarms: Array<AlarmMember> = []
    if (magic === SNAPSHOT_MAGIC) {
      if (data.length < at + 4) throw new Error("server snapshot: truncated alarms")
      const count = view.getUint32(at)
      at += 4
      if (data.length < at + count * ALARM_BYTES) throw new Error("server snapshot: truncated alarms")
      for (let k = 0; k < count; k++, at += ALARM_BYTES) alarms.push({ memberId: view.getBigUint64(at), alarm: view.getUint32(at + 8) })
    }
    this.members = Members.decode(data.subarray(8, 8 + membersLength))
    this.store = decodeStoreSnapshot(data.subarray(at), this.kvConfig)
    this.alarms = alarms
    this.dbSizeBytes = data.length - at
    this.onMembersChanged()
  }

  memberList(): Member[] {
    return this.members.list()
  }
}

function byMemberThenAlarm(a: AlarmMember, b: AlarmMember): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : a.alarm - b.alarm
}

/** Replicates a KV command through `node` and resolves with its result once applied here. */
export function proposeKv(node: { newRequestId(): bigint; propose(id: bigint, data: Uint8Array): Promise<unknown> }, command: KvCommand): Promise<KvResult> {
  const requestId = node.newRequestId()
  return node.propose(requestId, encodeKvEntry(requestId, command)) as Promise<KvResult>
}
