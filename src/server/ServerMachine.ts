// The replicated state machine of a verikv member: the KV core, plus the member registry, plus
// what etcd keeps beside them (the backend size for the space quota).
import type { Event, KvCommand, KvResult } from "../kv/Api.ts"
import { EventType } from "../kv/Api.ts"
import { apply, newStore, type KvConfig, type KvStore } from "../kv/index.ts"
import { decodeStoreSnapshot, encodeStoreSnapshot } from "../kv/Snapshot.ts"
import type { Entry } from "../raft/Types.ts"
import { decodeConfContext, decodeEntryPayload, encodeKvEntry } from "./EntryData.ts"
import { type Member, Members } from "./Members.ts"
import type { Applied, StateMachine } from "./RaftNode.ts"

/** Bytes a stored revision costs beyond its key and value (bolt page and index overhead, roughly). */
const RECORD_OVERHEAD_BYTES = 64
const SNAPSHOT_MAGIC = 0x76737631 // "vsv1"
const NO_EVENTS: ReadonlyArray<Event> = []

export class ServerMachine implements StateMachine {
  store: KvStore
  members: Members
  private readonly kvConfig: Partial<KvConfig>
  /**
   * etcd's backend size, estimated: it grows with every stored revision and, as etcd's bolt file,
   * shrinks only on defragmentation, not on compaction.
   */
  dbSizeBytes = 0
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
    }
  }

  /** What defragmentation would leave: the size of the retained state. */
  defragment(): void {
    this.dbSizeBytes = encodeStoreSnapshot(this.store).length
  }

  snapshot(): Uint8Array {
    const members = this.members.encode()
    const store = encodeStoreSnapshot(this.store)
    const data = new Uint8Array(8 + members.length + store.length)
    const view = new DataView(data.buffer)
    view.setUint32(0, SNAPSHOT_MAGIC)
    view.setUint32(4, members.length)
    data.set(members, 8)
    data.set(store, 8 + members.length)
    return data
  }

  restore(data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.length)
    if (data.length < 8 || view.getUint32(0) !== SNAPSHOT_MAGIC) throw new Error("server snapshot: unknown format")
    const membersLength = view.getUint32(4)
    this.members = Members.decode(data.subarray(8, 8 + membersLength))
    this.store = decodeStoreSnapshot(data.subarray(8 + membersLength), this.kvConfig)
    this.dbSizeBytes = data.length - 8 - membersLength
    this.onMembersChanged()
  }

  memberList(): Member[] {
    return this.members.list()
  }
}

/** Replicates a KV command through `node` and resolves with its result once applied here. */
export function proposeKv(node: { newRequestId(): bigint; propose(id: bigint, data: Uint8Array): Promise<unknown> }, command: KvCommand): Promise<KvResult> {
  const requestId = node.newRequestId()
  return node.propose(requestId, encodeKvEntry(requestId, command)) as Promise<KvResult>
}
