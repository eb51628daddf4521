// HashKV, after etcd 3.4's store.HashByRev: CRC-32C (Castagnoli) over the bucket name "key" and
// then, in revision order, each stored revision's bolt key (8-byte big-endian main, '_', 8-byte
// big-endian sub, plus 't' for a tombstone) and value (the protobuf-encoded mvccpb.KeyValue), for
// revisions up to `revision`; revisions at or below the compaction only if a compaction at
// `revision` would keep them. Aim: the same number etcd reports for the same history.
import type { Bytes } from "./Api.ts"
import type { KvError } from "./Api.ts"
import { KvErrors } from "./Errors.ts"
import { compactionPoint, NONE } from "./KeyIndex.ts"
import { storedRecord, type KvStore, type StoredRecord } from "./Store.ts"

const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** Running CRC-32C; start with 0, feed chunks, the result is the checksum so far. */
export function crc32c(crc: number, bytes: Bytes): number {
  let c = ~crc >>> 0
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** Protobuf wire bytes of mvccpb.KeyValue as gogo-protobuf writes them: fields in order, zeros left out. */
export function marshalKeyValue(record: StoredRecord): Uint8Array {
  const out: number[] = []
  const varint = (value: bigint) => {
    let v = BigInt.asUintN(64, value)
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(Number(v))
  }
  const bytesField = (tag: number, value: Bytes) => {
    if (value.length === 0) return
    out.push(tag)
    varint(BigInt(value.length))
    for (const byte of value) out.push(byte)
  }
  const intField = (tag: number, value: bigint) => {
    if (value === 0n) return
    out.push(tag)
    varint(value)
  }
  bytesField(0x0a, record.key)
  intField(0x10, BigInt(record.createRevision))
  intField(0x18, record.tombstone ? 0n : BigInt(record.main))
  intField(0x20, BigInt(record.version))
  bytesField(0x2a, record.value)
  intField(0x30, record.lease)
  return Uint8Array.from(out)
}

function revisionKey(record: StoredRecord): Uint8Array {
  const key = new Uint8Array(record.tombstone ? 18 : 17)
  const view = new DataView(key.buffer)
  view.setBigUint64(0, BigInt(record.main))
  key[8] = 0x5f // '_'
  view.setBigUint64(9, BigInt(record.sub))
  if (record.tombstone) key[17] = 0x74 // 't'
  return key
}

export interface HashKvResult {
  readonly header: { readonly revision: number }
  readonly hash: number
  readonly compactRevision: number
}

/** etcd's HashKV: `revision` 0 means the current revision; at or below the compaction it is refused. */
export function hashKV(store: KvStore, revision: number):
  { readonly type: "HashKV"; readonly response: HashKvResult } | { readonly type: "Error"; readonly error: KvError } {
  if (revision > 0 && revision <= store.compactRevision) return { type: "Error", error: KvErrors.compacted }
  if (revision > store.currentRevision) return { type: "Error", error: KvErrors.futureRevision }
  const upTo = revision === 0 ? store.currentRevision : revision
  const log = store.log
  // etcd's keyIndex.keep over every key: the rows a compaction at upTo would keep at or below it.
  const keep = new Uint8Array(log.length)
  let kept = 0
  store.index.forEach((_key, latest) => {
    const available = compactionPoint(log, latest, upTo, true).available
    if (available !== NONE) {
      keep[available] = 1
      kept++
    }
    return true
  })
  let hash = crc32c(0, new TextEncoder().encode("key"))
  for (let position = 0; position < log.length; position++) {
    const main = log.main(position)
    if (main > upTo) break
    if (main <= store.compactRevision && kept > 0 && keep[position] !== 1) continue
    const record = storedRecord(store, position)
    hash = crc32c(hash, revisionKey(record))
    hash = crc32c(hash, marshalKeyValue(record))
  }
  return { type: "HashKV", response: { header: { revision: store.currentRevision }, hash, compactRevision: store.compactRevision } }
}
