// One key's history, after etcd's mvcc/key_index.go: a list of generations, each running from the
// put that created the key to the tombstone that deleted it. The last generation is the live one
// (empty while the key is deleted). Revisions are held as references to the stored records, so
// the index and the revision log share one object per change.
import { assert } from "../assert.ts"
import type { Bytes, LeaseId } from "./Api.ts"

/** One change as etcd's "key" bucket stores it: revision (main, sub) → mvccpb.KeyValue. */
export interface RevisionRecord {
  readonly main: number
  readonly sub: number
  /** The key index's own key bytes (shared, never mutated). */
  readonly key: Bytes
  /** Empty for tombstones. */
  readonly value: Bytes
  /** 0 for tombstones. */
  readonly createRevision: number
  /** 0 for tombstones. */
  readonly version: number
  readonly lease: LeaseId
  readonly tombstone: boolean
}

export interface Generation {
  /** Number of puts in this generation, counting compacted ones (etcd's generation.ver). */
  version: number
  /** Main revision of the put that created the key. */
  created: number
  revisions: RevisionRecord[]
}

/**
 * Appends without push's growth slack (push sizes a 1-element array for 17): most keys hold one or
 * two records, and 100,000 keys' worth of slack is megabytes. Long lists grow by push as usual.
 */
function appended<T>(list: T[], item: T): T[] {
  if (list.length >= 8) {
    list.push(item)
    return list
  }
  const copy = new Array<T>(list.length + 1)
  for (let i = 0; i < list.length; i++) copy[i] = list[i]!
  copy[list.length] = item
  return copy
}

const isLater = (a: RevisionRecord, b: RevisionRecord): boolean =>
  a.main > b.main || (a.main === b.main && a.sub > b.sub)

export class KeyIndex {
  readonly key: Bytes
  generations: Generation[] = [{ version: 0, created: 0, revisions: [] }]

  constructor(key: Bytes) {
    this.key = key
  }

  /** The newest record, if any (a tombstone when the key is deleted). */
  latest(): RevisionRecord | undefined {
    for (let g = this.generations.length - 1; g >= 0; g--) {
      const revisions = this.generations[g]!.revisions
      if (revisions.length > 0) return revisions[revisions.length - 1]
    }
    return undefined
  }

  /** The live record, undefined while the key is deleted. */
  live(): RevisionRecord | undefined {
    const revisions = this.generations[this.generations.length - 1]!.revisions
    return revisions[revisions.length - 1]
  }

  put(record: RevisionRecord): void {
    assert(!record.tombstone, "put of a tombstone")
    const latest = this.latest()
    assert(latest === undefined || isLater(record, latest), "key index: put with a smaller revision")
    const generation = this.generations[this.generations.length - 1]!
    if (generation.revisions.length === 0) generation.created = record.main
    generation.revisions = appended(generation.revisions, record)
    generation.version++
    assert(record.version === generation.version, "record version disagrees with its generation")
  }

  tombstone(record: RevisionRecord): void {
    assert(record.tombstone, "tombstone of a put")
    const generation = this.generations[this.generations.length - 1]!
    assert(generation.revisions.length > 0, "tombstone of a deleted key")
    generation.revisions = appended(generation.revisions, record)
    generation.version++
    this.generations = appended(this.generations, { version: 0, created: 0, revisions: [] })
  }

  /** The put visible at `atRevision` (etcd's keyIndex.get), undefined if none. */
  get(atRevision: number): RevisionRecord | undefined {
    const generation = this.findGeneration(atRevision)
    if (generation === undefined) return undefined
    const revisions = generation.revisions
    for (let i = revisions.length - 1; i >= 0; i--) {
      if (revisions[i]!.main <= atRevision) return revisions[i]
    }
    return undefined
  }

  private findGeneration(atRevision: number): Generation | undefined {
    const last = this.generations.length - 1
    for (let g = last; g >= 0; g--) {
      const revisions = this.generations[g]!.revisions
      if (revisions.length === 0) continue
      if (g !== last && revisions[revisions.length - 1]!.main <= atRevision) return undefined
      if (revisions[0]!.main <= atRevision) return this.generations[g]
    }
    return undefined
  }

  isEmpty(): boolean {
    return this.generations.length === 1 && this.generations[0]!.revisions.length === 0
  }

  /**
   * etcd's keyIndex.compact: drops what no read at >= atRevision can see and adds the records to
   * keep to `available`. The caller removes the key when it ends up empty.
   */
  compact(atRevision: number, available: Set<RevisionRecord>): void {
    assert(!this.isEmpty(), "compact of an empty key index")
    let [generationIndex, revisionIndex] = this.findCompactionPoint(atRevision, available)
    const generation = this.generations[generationIndex]!
    if (generation.revisions.length > 0) {
      if (revisionIndex !== -1) generation.revisions = generation.revisions.slice(revisionIndex)
      if (generation.revisions.length === 1 && generationIndex !== this.generations.length - 1) {
        available.delete(generation.revisions[0]!)
        generationIndex++
      }
    }
    if (generationIndex > 0) this.generations = this.generations.slice(generationIndex)
  }

  /** etcd's keyIndex.keep: which records a compaction at atRevision would keep, without compacting. */
  keep(atRevision: number, available: Set<RevisionRecord>): void {
    if (this.isEmpty()) return
    const [generationIndex, revisionIndex] = this.findCompactionPoint(atRevision, available)
    const revisions = this.generations[generationIndex]!.revisions
    if (revisions.length > 0 && revisionIndex === revisions.length - 1 &&
      generationIndex !== this.generations.length - 1) {
      available.delete(revisions[revisionIndex]!)
    }
  }

  /** etcd's doCompact: the first generation not wholly at or below atRevision, and its newest record <= atRevision. */
  private findCompactionPoint(atRevision: number, available: Set<RevisionRecord>): [number, number] {
    let generationIndex = 0
    while (generationIndex < this.generations.length - 1) {
      const revisions = this.generations[generationIndex]!.revisions
      if (revisions[revisions.length - 1]!.main > atRevision) break
      generationIndex++
    }
    const revisions = this.generations[generationIndex]!.revisions
    for (let i = revisions.length - 1; i >= 0; i--) {
      if (revisions[i]!.main <= atRevision) {
        available.add(revisions[i]!)
        return [generationIndex, i]
      }
    }
    return [generationIndex, -1]
  }
}
