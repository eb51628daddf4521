// One key's history, after etcd's mvcc/key_index.go, read off the key's chain of rows in the
// revision log (newest first via keyPrev). etcd keeps a list of generations, each running from the
// put that created the key to the tombstone that deleted it, the last one live (or empty while the
// key is deleted). The chain holds the same thing flat: a generation ends after each tombstone, and
// compaction only ever drops a prefix. No object per key, generation or revision.
import { assert } from "../assert.ts"
import type { RevisionLog } from "./RevisionLog.ts"

export const NONE = -1

/** The live row of a key whose newest row is `latest`: NONE while the key is deleted. */
export function liveRecord(log: RevisionLog, latest: number): number {
  return latest === NONE || log.isTombstone(latest) ? NONE : latest
}

/**
 * The put visible at `atRevision` (etcd's keyIndex.get): the newest row at or below it, unless that
 * row is a tombstone (the key was deleted then) or there is none (created later, or compacted).
 */
export function recordAt(log: RevisionLog, latest: number, atRevision: number): number {
  let position = latest
  while (position !== NONE && log.main(position) > atRevision) position = previousOfKey(log, position)
  return position === NONE || log.isTombstone(position) ? NONE : position
}

/** The row before `position` in its key's chain; chains only go back, so every walk ends. */
function previousOfKey(log: RevisionLog, position: number): number {
  const previous = log.keyPrev(position)
  assert(previous < position, "key index: a chain links forward")
  return previous
}

export interface CompactionPoint {
  /** The row a compaction at the revision keeps below it (etcd's `available`), NONE if none. */
  readonly available: number
  /** The oldest row left in the key's index after compacting; NONE when the key goes entirely. */
  readonly oldest: number
}

/** Scratch for `compactionPoint` (compaction visits keys one at a time). */
const chain: number[] = []

/**
 * etcd's keyIndex.compact (or keyIndex.keep with `keepOnly`) at `atRevision`: which row survives
 * at or below the revision and where the key's index will start.
 */
export function compactionPoint(log: RevisionLog, latest: number, atRevision: number, keepOnly: boolean): CompactionPoint {
  assert(latest !== NONE, "compaction of an empty key index")
  chain.length = 0
  for (let position = latest; position !== NONE; position = previousOfKey(log, position)) chain.push(position)
  chain.reverse()
  // doCompact: the first generation that is not wholly at or below atRevision, or the last one.
  let start = 0
  let end = 0
  let isLast = false
  for (;;) {
    end = start
    while (end < chain.length && !log.isTombstone(chain[end]!)) end++
    if (end === chain.length) {
      isLast = true
      break
    }
    end++ // the tombstone closes the generation
    if (log.main(chain[end - 1]!) > atRevision) break
    start = end
  }
  let revisionIndex = NONE
  for (let i = end - 1; i >= start; i--) {
    if (log.main(chain[i]!) <= atRevision) {
      revisionIndex = i
      break
    }
  }
  let available = revisionIndex === NONE ? NONE : chain[revisionIndex]!
  let oldest = start
  if (end > start) {
    if (keepOnly) {
      if (revisionIndex === end - 1 && !isLast) available = NONE
    } else {
      if (revisionIndex !== NONE) oldest = revisionIndex
      // A generation left with only its tombstone goes too.
      if (end - oldest === 1 && !isLast) {
        if (available === chain[oldest]) available = NONE
        oldest = end
      }
    }
  }
  const result = { available, oldest: oldest < chain.length ? chain[oldest]! : NONE }
  chain.length = 0
  return result
}
