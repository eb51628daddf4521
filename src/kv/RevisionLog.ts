// The revision log: every stored record in revision order (what etcd's "key" bucket holds after
// compaction), as a table of columns rather than an object per record. A record is named by its
// position; an object with eight fields and two Uint8Array views cost about 400 bytes, a row here
// about 60. Positions change only when compaction rewrites the table (`retain` says how).
//
// Each row also links to the previous row of the same key (`keyPrev`), so a key's history is a
// chain from its newest row back: the key index (KeyIndex.ts) needs nothing else per key.
import { assert } from "../assert.ts"
import { NoLease, type LeaseId } from "./Api.ts"

const INITIAL_CAPACITY = 1024
/** Modest growth: the unused tail averages about a tenth of the table (copying is amortized O(1)). */
const GROWTH = 1.25

const FLAG_TOMBSTONE = 1
/** Most rows have no lease: reading one then needs no BigInt. */
const FLAG_LEASED = 2

export interface NewRecord {
  readonly main: number
  readonly sub: number
  /** The key string (Bytes.ts), shared with the key index. */
  readonly key: string
  /** The previous row of this key, -1 if none. */
  readonly keyPrev: number
  /** Where the key's bytes and then the value's are in the store's ByteSlab. */
  readonly bytesAt: number
  /** 0 for tombstones. */
  readonly valueLength: number
  /** 0 for tombstones. */
  readonly createRevision: number
  /** 0 for tombstones. */
  readonly version: number
  readonly lease: LeaseId
  readonly tombstone: boolean
}

export class RevisionLog {
  private count = 0
  private capacity = INITIAL_CAPACITY
  private mains = new Float64Array(INITIAL_CAPACITY)
  private subs = new Uint32Array(INITIAL_CAPACITY)
  private flags = new Uint8Array(INITIAL_CAPACITY)
  private keyPrevs = new Int32Array(INITIAL_CAPACITY)
  private bytesAts = new Float64Array(INITIAL_CAPACITY)
  private valueLengths = new Uint32Array(INITIAL_CAPACITY)
  private createRevisions = new Float64Array(INITIAL_CAPACITY)
  private versions = new Float64Array(INITIAL_CAPACITY)
  private leases = new BigInt64Array(INITIAL_CAPACITY)
  private keys: string[] = []

  get length(): number {
    return this.count
  }

  /** Adds a row after the last one; revisions must increase. Returns its position. */
  append(record: NewRecord): number {
    const position = this.count
    if (position > 0) {
      const lastMain = this.mains[position - 1]!
      assert(record.main > lastMain || (record.main === lastMain && record.sub > this.subs[position - 1]!),
        "revision log: records out of revision order")
    }
    assert(record.keyPrev < position, "revision log: a key's previous record must come first")
    if (position === this.capacity) this.resize(Math.ceil(this.capacity * GROWTH))
    this.mains[position] = record.main
    this.subs[position] = record.sub
    this.flags[position] = (record.tombstone ? FLAG_TOMBSTONE : 0) | (record.lease !== NoLease ? FLAG_LEASED : 0)
    this.keyPrevs[position] = record.keyPrev
    this.bytesAts[position] = record.bytesAt
    this.valueLengths[position] = record.valueLength
    this.createRevisions[position] = record.createRevision
    this.versions[position] = record.version
    this.leases[position] = record.lease
    this.keys.push(record.key)
    this.count++
    return position
  }

  main(position: number): number {
    return this.mains[position]!
  }
  sub(position: number): number {
    return this.subs[position]!
  }
  isTombstone(position: number): boolean {
    return (this.flags[position]! & FLAG_TOMBSTONE) !== 0
  }
  key(position: number): string {
    return this.keys[position]!
  }
  keyPrev(position: number): number {
    return this.keyPrevs[position]!
  }
  bytesAt(position: number): number {
    return this.bytesAts[position]!
  }
  valueLength(position: number): number {
    return this.valueLengths[position]!
  }
  /** How many slab bytes the row holds at bytesAt: its key's, then its value's. */
  storedLength(position: number): number {
    return this.keys[position]!.length + this.valueLengths[position]!
  }
  createRevision(position: number): number {
    return this.createRevisions[position]!
  }
  version(position: number): number {
    return this.versions[position]!
  }
  lease(position: number): LeaseId {
    return (this.flags[position]! & FLAG_LEASED) === 0 ? NoLease : this.leases[position]!
  }

  /** Ends a key's chain here: compaction dropped the key's older records from its index. */
  cutKeyChain(position: number): void {
    this.keyPrevs[position] = -1
  }

  /** Moves a row's bytes (compaction packing the slab). */
  moveBytes(position: number, bytesAt: number): void {
    this.bytesAts[position] = bytesAt
  }

  /**
   * Keeps the rows `keep` accepts, in order, and returns where each old position went (-1:
   * dropped). `dropped` sees each dropped row first, to release its bytes.
   */
  retain(keep: (position: number) => boolean, dropped: (position: number) => void): Int32Array {
    const moved = new Int32Array(this.count)
    let next = 0
    for (let old = 0; old < this.count; old++) {
      if (!keep(old)) {
        dropped(old)
        moved[old] = -1
        continue
      }
      moved[old] = next
      if (next !== old) this.copyRow(old, next)
      const previous = this.keyPrevs[next]!
      this.keyPrevs[next] = previous === -1 ? -1 : moved[previous]!
      next++
    }
    this.count = next
    this.keys.length = next
    if (this.capacity > INITIAL_CAPACITY && next < this.capacity / 4) this.resize(Math.max(INITIAL_CAPACITY, next * 2))
    return moved
  }

  private copyRow(from: number, to: number): void {
    this.mains[to] = this.mains[from]!
    this.subs[to] = this.subs[from]!
    this.flags[to] = this.flags[from]!
    this.keyPrevs[to] = this.keyPrevs[from]!
    this.bytesAts[to] = this.bytesAts[from]!
    this.valueLengths[to] = this.valueLengths[from]!
    this.createRevisions[to] = this.createRevisions[from]!
    this.versions[to] = this.versions[from]!
    this.leases[to] = this.leases[from]!
    this.keys[to] = this.keys[from]!
  }

  private resize(capacity: number): void {
    assert(capacity >= this.count, "revision log: shrinking below its rows")
    const count = this.count
    const grown = <T extends Float64Array | Uint32Array | Uint8Array | Int32Array | BigInt64Array>(
      old: T, make: (capacity: number) => T): T => {
      const fresh = make(capacity)
      fresh.set(old.subarray(0, count) as never)
      return fresh
    }
    this.mains = grown(this.mains, (n) => new Float64Array(n))
    this.subs = grown(this.subs, (n) => new Uint32Array(n))
    this.flags = grown(this.flags, (n) => new Uint8Array(n))
    this.keyPrevs = grown(this.keyPrevs, (n) => new Int32Array(n))
    this.bytesAts = grown(this.bytesAts, (n) => new Float64Array(n))
    this.valueLengths = grown(this.valueLengths, (n) => new Uint32Array(n))
    this.createRevisions = grown(this.createRevisions, (n) => new Float64Array(n))
    this.versions = grown(this.versions, (n) => new Float64Array(n))
    this.leases = grown(this.leases, (n) => new BigInt64Array(n))
    this.capacity = capacity
  }
}
