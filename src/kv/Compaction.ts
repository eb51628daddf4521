// Compaction, after etcd 3.4's store.Compact + treeIndex.Compact + scheduleCompaction, done at once
// (etcd finishes the physical part in the background; the result is the same).
import { assert } from "../assert.ts"
import type { CompactionRequest, CompactionResponse } from "./Api.ts"
import { hasBug } from "./Bugs.ts"
import { fail, KvErrors } from "./Errors.ts"
import type { KeyIndex, RevisionRecord } from "./KeyIndex.ts"
import type { KvStore } from "./Store.ts"

export function applyCompaction(store: KvStore, request: CompactionRequest): CompactionResponse {
  const revision = request.revision
  if (revision <= store.compactRevision) fail(KvErrors.compacted)
  if (revision > store.currentRevision) fail(KvErrors.futureRevision)
  store.compactRevision = revision
  const keep = new Set<RevisionRecord>()
  const emptied: KeyIndex[] = []
  store.index.forEach((_key, keyIndex) => {
    keyIndex.compact(hasBug(store, "CompactOffByOne") ? revision + 1 : revision, keep)
    if (keyIndex.isEmpty()) emptied.push(keyIndex)
    return true
  })
  for (const keyIndex of emptied) store.index.delete(keyIndex.key)
  const before = store.history.length
  store.history = store.history.filter((record) => record.main > revision || keep.has(record))
  assert(store.history.length <= before, "compaction grew the revision log")
  return { header: { revision: store.currentRevision } }
}
