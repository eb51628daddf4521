// Rebuilds the durable Raft state from WAL records, applying the same rules the writer follows:
// entries appended at index i replace everything from i on; an Installed snapshot marker
// replaces the whole log; a Compacted marker only records that a snapshot is durable.
import { assert } from "../../assert.ts"
import type { Entry, HardState, LogIndex, Term } from "../../raft/Types.ts"
import { logIndex } from "../../raft/Types.ts"
import type { SegmentHeader, SnapshotMarker } from "./RecordCodec.ts"
import type { WalRecord } from "./SegmentScan.ts"

export class LogReplay {
  /** Entries at or below `base` are unknown to the retained segments (released or compacted). */
  private base: LogIndex
  /** entries[k].index = base + 1 + k, terms never decrease. */
  private readonly entries: Entry[] = []
  hardState: HardState
  /** Every snapshot marker seen, oldest first (the first segment header's included). */
  readonly markers: SnapshotMarker[] = []

  constructor(first: SegmentHeader) {
    this.base = logIndex(first.firstIndex - 1)
    this.hardState = first.hardState
    if (first.snapshotMarker !== undefined) this.markers.push(first.snapshotMarker)
  }

  get lastIndex(): LogIndex {
    return logIndex(this.base + this.entries.length)
  }

  get lowestKnownIndex(): LogIndex {
    return this.base
  }

  apply(record: WalRecord): void {
    switch (record.type) {
      case "Entry": return this.appendEntry(record.entry)
      case "HardState": return this.setHardState(record.hardState)
      case "SnapshotMarker": return this.applyMarker(record.marker)
    }
  }

  /** Describes how a later segment's header disagrees with the replayed state, if it does. */
  headerMismatch(header: SegmentHeader): string | undefined {
    if (header.firstIndex !== this.lastIndex + 1) return "segment firstIndex is not lastIndex + 1"
    const h = this.hardState
    const g = header.hardState
    const same = g.currentTerm === h.currentTerm && g.votedFor === h.votedFor &&
      g.commitIndex === h.commitIndex
    if (!same) {
      return "segment header's hard state differs from the replayed one"
    }
    const marker = this.markers.at(-1)
    const headerMarker = header.snapshotMarker
    if (marker?.index !== headerMarker?.index || marker?.term !== headerMarker?.term) {
      return "segment header's snapshot marker differs from the replayed one"
    }
    return undefined
  }

  /**
   * The entries after a snapshot at (index, indexTerm), or undefined if the retained WAL cannot
   * vouch for them: it lost entries after `index`, holds a different term at `index`, or does not
   * reach `index` at all (a snapshot whose marker never became durable: appending after it would
   * leave a gap in the WAL).
   */
  entriesAfter(index: LogIndex, indexTerm: Term): Entry[] | undefined {
    if (index < this.base || index > this.lastIndex) return undefined
    const atIndex = this.entries[index - this.base - 1]
    if (atIndex !== undefined && atIndex.term !== indexTerm) return undefined
    return this.entries.slice(index - this.base)
  }

  private appendEntry(e: Entry): void {
    if (e.index <= this.base) {
      this.entries.length = 0
      this.base = logIndex(e.index - 1)
    } else if (e.index <= this.lastIndex) {
      this.entries.length = e.index - this.base - 1
    }
    assert(e.index === this.lastIndex + 1, "wal replay: gap before an entry")
    const previous = this.entries.at(-1)
    assert(previous === undefined || previous.term <= e.term, "wal replay: entry terms decrease")
    this.entries.push(e)
  }

  private setHardState(h: HardState): void {
    const old = this.hardState
    assert(h.currentTerm >= old.currentTerm, "wal replay: hard state term decreases")
    assert(h.currentTerm > old.currentTerm || old.votedFor === 0 || h.votedFor === old.votedFor,
      "wal replay: second vote in one term")
    this.hardState = h
  }

  private applyMarker(m: SnapshotMarker): void {
    this.markers.push(m)
    // A Compacted marker keeps the entries it covers: they let recovery fall back to an older
    // snapshot if the newest one turns out damaged (releaseTo bounds how far back they go).
    if (m.kind === "Installed") {
      this.entries.length = 0
      this.base = m.index
    }
  }
}
