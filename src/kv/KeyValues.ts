// Turning stored rows into the mvccpb.KeyValue a client sees: the only place keys and values
// become Uint8Arrays again.
import { NoLease, type Bytes, type KeyValue } from "./Api.ts"
import { EMPTY_BYTES } from "./Bytes.ts"
import { keyOf, valueOf, type KvStore } from "./Store.ts"

export function toKeyValue(store: KvStore, position: number, keysOnly = false): KeyValue {
  const log = store.log
  return {
    key: keyOf(store, position),
    createRevision: log.createRevision(position),
    modRevision: log.main(position),
    version: log.version(position),
    value: keysOnly ? EMPTY_BYTES : valueOf(store, position),
    lease: log.lease(position),
  }
}

/** A DELETE event's kv: the key and the deletion's revision, all else zero (as etcd sends it). */
export function deletedKeyValue(key: Bytes, modRevision: number): KeyValue {
  return { key, createRevision: 0, modRevision, version: 0, value: EMPTY_BYTES, lease: NoLease }
}
