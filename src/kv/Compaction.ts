// Compaction, after etcd 3.4's store.Compact + treeIndex.Compact + scheduleCompaction, done at once
// (etcd finishes the physical part in the background; the result is the same).
import { assert } from "../assert.ts"
import type { CompactionRequest, CompactionResponse } from "./Api.ts"
import { hasBug } from "./Bugs.ts"
import { EMPTY_BYTES } from "./Bytes.ts"
import { fail, KvErrors } from "./Errors.ts"
import { compactionPoint, NONE } from "./KeyIndex.ts"
import type { KvStore } from "./Store.ts"

export function applyCompaction(store: KvStore, request: CompactionRequest): CompactionResponse {
  const revision = request.revision
  if (revision <= store.compactRevision) fail(KvErrors.compacted)
  if (revision > store.currentRevision) fail(KvErrors.futureRevision)
  store.compactRevision = revision
  const { log, bytes, index } = store
  const indexRevision = hasBug(store, "CompactOffByOne") ? revision + 1 : revision
  // treeIndex.Compact: each key's index loses a prefix; the rows it still needs at or below the
  // revision are marked to survive the revision log's compaction.
  const keep = new Uint8Array(log.length)
  const emptied: string[] = []
  index.forEach((key, latest) => {
    const point = compactionPoint(log, latest, indexRevision, false)
    if (point.available !== NONE) keep[point.available] = 1
    if (point.oldest === NONE) emptied.push(key)
    else log.cutKeyChain(point.oldest)
    return true
  })
  for (const key of emptied) index.delete(key)
  // The backend: everything above the revision, and what the index still needs below it.
  const before = log.length
  const moved = log.retain(
    (position) => log.main(position) > revision || keep[position] === 1,
    (position) => bytes.release(log.bytesAt(position), log.storedLength(position)),
  )
  assert(log.length <= before, "compaction grew the revision log")
  index.updateValues((latest) => {
    const position = moved[latest]!
    assert(position !== NONE, "compaction dropped a key's newest record")
    return position
  })
  packBytes(store)
  return { header: { revision: store.currentRevision } }
}

/** Moves the rows' bytes left in nearly empty slab chunks, so that those chunks are freed. */
function packBytes(store: KvStore): void {
  const { log, bytes } = store
  for (let position = 0; position < log.length; position++) {
    const at = log.bytesAt(position)
    const length = log.storedLength(position)
    if (!bytes.isSparse(at, length)) continue
    log.moveBytes(position, bytes.store(bytes.view(at, length), EMPTY_BYTES))
    bytes.release(at, length)
  }
}
