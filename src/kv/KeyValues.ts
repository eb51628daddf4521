// Turning stored records into the mvccpb.KeyValue a client sees.
import { NoLease, type Bytes, type KeyValue } from "./Api.ts"
import { EMPTY_BYTES } from "./Bytes.ts"
import type { RevisionRecord } from "./KeyIndex.ts"

export function toKeyValue(record: RevisionRecord, keysOnly = false): KeyValue {
  return {
    key: record.key,
    createRevision: record.createRevision,
    modRevision: record.main,
    version: record.version,
    value: keysOnly ? EMPTY_BYTES : record.value,
    lease: record.lease,
  }
}

/** A DELETE event's kv: the key and the deletion's revision, all else zero (as etcd sends it). */
export function deletedKeyValue(key: Bytes, modRevision: number): KeyValue {
  return { key, createRevision: 0, modRevision, version: 0, value: EMPTY_BYTES, lease: NoLease }
}
