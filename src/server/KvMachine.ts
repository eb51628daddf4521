// The KV core as the node's replicated state machine, plus what etcd keeps beside it: the
// approximate backend size for the space quota.
import type { Event, KvCommand, KvResult } from "../kv/Api.ts"
import { apply, newStore, type KvConfig, type KvStore } from "../kv/index.ts"
import { decodeStoreSnapshot, encodeStoreSnapshot } from "../kv/Snapshot.ts"
import type { LogIndex } from "../raft/Types.ts"
import type { StateMachine } from "./RaftNode.ts"

/** Bytes a stored revision costs beyond its key and value (bolt page and index overhead, roughly). */
const RECORD_OVERHEAD_BYTES = 64

export class KvMachine implements StateMachine {
  store: KvStore
  private readonly config: Partial<KvConfig>
  /** An estimate of etcd's backend size: every retained record's key, value and overhead. */
  dbSizeBytes = 0
  /** Called with each applied command's result (after the store changed). */
  onApplied: (index: LogIndex, command: KvCommand, result: KvResult) => void = () => {}

  constructor(config: Partial<KvConfig>) {
    this.config = config
    this.store = newStore(config)
  }

  apply(index: LogIndex, command: KvCommand): { readonly result: KvResult; readonly events: ReadonlyArray<Event> } {
    const historyBefore = this.store.history.length
    const applied = apply(this.store, command)
    if (command.type === "Compaction" && applied.result.type !== "Error") this.recomputeSize()
    else {
      for (let k = historyBefore; k < this.store.history.length; k++) {
        const record = this.store.history[k]!
        this.dbSizeBytes += record.key.length + record.value.length + RECORD_OVERHEAD_BYTES
      }
    }
    this.onApplied(index, command, applied.result)
    return applied
  }

  snapshot(): Uint8Array {
    return encodeStoreSnapshot(this.store)
  }

  restore(data: Uint8Array): void {
    this.store = decodeStoreSnapshot(data, this.config)
    this.recomputeSize()
  }

  private recomputeSize(): void {
    let bytes = 0
    for (const record of this.store.history) bytes += record.key.length + record.value.length + RECORD_OVERHEAD_BYTES
    this.dbSizeBytes = bytes
  }
}
