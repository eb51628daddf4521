// The simulated disk behind NodeStorage, one per node, surviving its crashes. Writes land in a
// volatile part; an fsync completes after a drawn delay (sometimes slow) and only then moves what
// was written before it to the durable part. A crash keeps the durable part and, like power loss
// under an append-only WAL, a prefix of the volatile records: possibly none, and the record after
// the prefix may be torn, which the WAL's recovery cuts off whole (src/platform/wal/SegmentScan.ts).
import { assert } from "../../src/assert.ts"
import type { Storage } from "../../src/raft/Api.ts"
import { bootstrapStorage } from "../../src/raft/Api.ts"
import type { Config, Entry, HardState, LogIndex, Snapshot } from "../../src/raft/Types.ts"
import type { NodeStorage } from "../../src/server/RaftNode.ts"
import type { FaultCounts } from "./FaultCounts.ts"
import type { Prng } from "./Prng.ts"
import type { Scheduler, SimMs } from "./Scheduler.ts"

/** One write, as the WAL would hold it: a save, or a snapshot and its marker. */
type DiskRecord =
  | { readonly kind: "save"; readonly hardState: HardState | undefined; readonly entries: ReadonlyArray<Entry> }
  | { readonly kind: "snapshot"; readonly snapshot: Snapshot; readonly installed: boolean }

export interface DiskConfig {
  readonly fsyncMsMin: SimMs
  readonly fsyncMsMax: SimMs
  readonly slowFsyncProbability: number
  readonly slowFsyncMsMax: SimMs
}

/** Durable records beyond this are folded into one snapshot-plus-log form (bounded memory). */
const DURABLE_RECORDS_MAX = 512
/** Snapshot files kept for reading back, newest last (as src/platform/snapshot/SnapshotStore.ts). */
const SNAPSHOT_FILES_KEPT = 5

export class SimDisk {
  private durable: Array<DiskRecord> = []
  private volatile: Array<DiskRecord> = []
  /** Durable snapshots, newest last: what readSnapshotData finds (folding the records keeps only one). */
  private snapshotFiles: Array<Snapshot> = []
  /** Bumped by every crash: fsyncs of a dead incarnation never complete. */
  private generation = 0
  /** Slow fsyncs are drawn only while faults are on. */
  faultsOn = true

  private readonly scheduler: Scheduler
  private readonly prng: Prng
  private readonly config: DiskConfig
  private readonly faults: FaultCounts
  private readonly bootstrap: Config
  private readonly label: string

  constructor(
    scheduler: Scheduler, prng: Prng, config: DiskConfig, faults: FaultCounts, bootstrap: Config, label: string,
  ) {
    this.scheduler = scheduler
    this.prng = prng
    this.config = config
    this.faults = faults
    this.bootstrap = bootstrap
    this.label = label
  }

  /**
   * The NodeStorage of one incarnation. `resume` runs a completion on the node (held while it is
   * paused, dropped once it is gone).
   */
  open(resume: (run: () => void) => void): NodeStorage {
    const generation = this.generation
    const write = (record: DiskRecord, sync: boolean): Promise<void> => {
      assert(generation === this.generation, "disk: a crashed incarnation wrote")
      this.volatile.push(record)
      if (!sync) return Promise.resolve()
      const written = this.volatile.length
      return new Promise((resolve) => {
        this.scheduler.after(this.drawFsyncMs(), `fsync ${this.label}`, () => {
          if (generation !== this.generation) return // crashed meanwhile: never completes
          this.makeDurable(this.volatile.splice(0, written))
          if (this.durable.length > DURABLE_RECORDS_MAX) {
            this.durable = foldRecords(replay(this.durable, this.bootstrap))
          }
          resume(resolve)
        })
      })
    }
    return {
      save: (hardState, entries, sync) => write({ kind: "save", hardState, entries }, sync),
      saveSnapshot: (snapshot, installed) => {
        if (installed) this.faults.snapshotInstall++
        else this.faults.compaction++
        return write({ kind: "snapshot", snapshot, installed }, true)
      },
      // Reads take a drawn time too, so a send from disk races the node's other work.
      readSnapshotData: (meta) => new Promise((resolve, reject) => {
        assert(generation === this.generation, "disk: a crashed incarnation read")
        this.scheduler.after(this.prng.between(this.config.fsyncMsMin, this.config.fsyncMsMax), `read snapshot ${this.label}`, () => {
          if (generation !== this.generation) return // crashed meanwhile: never completes
          const found = this.snapshotFiles.find((s) => s.meta.index === meta.index && s.meta.term === meta.term)
          if (found !== undefined) this.faults.snapshotReadBack++
          resume(() => found === undefined
            ? reject(new Error(`no snapshot file for index ${meta.index} term ${meta.term}`))
            : resolve(found.data))
        })
      }),
    }
  }

  private makeDurable(records: ReadonlyArray<DiskRecord>): void {
    this.durable.push(...records)
    for (const record of records) {
      if (record.kind !== "snapshot") continue
      this.snapshotFiles.push(record.snapshot)
      if (this.snapshotFiles.length > SNAPSHOT_FILES_KEPT) this.snapshotFiles.shift()
    }
  }

  /** Power loss: the volatile records are lost, except perhaps a prefix; the next may be torn. */
  crash(): void {
    this.generation++
    const volatile = this.volatile
    this.volatile = []
    if (volatile.length === 0) return
    const kept = this.prng.chance(0.5) ? 0 : this.prng.below(volatile.length + 1)
    this.makeDurable(volatile.slice(0, kept))
    const lost = volatile.length - kept
    if (lost > 0 && this.prng.chance(0.5)) this.faults.tornWrite++ // cut off whole on recovery
    this.faults.lostUnsyncedWrite += lost
  }

  /** What a restart reads back. */
  recover(): Storage {
    assert(this.volatile.length === 0, "disk: recovering with unsynced writes pending")
    return replay(this.durable, this.bootstrap)
  }

  private drawFsyncMs(): SimMs {
    const { fsyncMsMin, fsyncMsMax, slowFsyncProbability, slowFsyncMsMax } = this.config
    if (this.faultsOn && this.prng.chance(slowFsyncProbability)) {
      this.faults.slowFsync++
      return this.prng.between(fsyncMsMax, slowFsyncMsMax)
    }
    return this.prng.between(fsyncMsMin, fsyncMsMax)
  }
}

/** The same durable state as one snapshot record and one save. */
function foldRecords(storage: Storage): Array<DiskRecord> {
  return [
    { kind: "snapshot", snapshot: storage.snapshot, installed: true },
    { kind: "save", hardState: storage.hardState, entries: storage.entries },
  ]
}

/** Replays durable records by the WAL's rules (src/platform/wal/LogReplay.ts, openDisk). */
function replay(records: ReadonlyArray<DiskRecord>, bootstrap: Config): Storage {
  let { hardState, snapshot } = bootstrapStorage(bootstrap)
  let entries: Array<Entry> = []
  for (const record of records) {
    if (record.kind === "snapshot") {
      // An installed snapshot replaces the whole log; our own compaction keeps what follows it.
      const index = record.snapshot.meta.index
      entries = record.installed ? [] : entries.filter((entry) => entry.index > index)
      snapshot = record.snapshot
      continue
    }
    if (record.hardState !== undefined) hardState = record.hardState
    const first = record.entries[0]
    if (first !== undefined) {
      // Entries written at index i replace everything from i on.
      entries = entries.filter((entry) => entry.index < first.index)
      entries.push(...record.entries)
    }
  }
  const base = snapshot.meta.index
  entries = entries.filter((entry) => entry.index > base)
  entries.forEach((entry, k) => assert(entry.index === base + 1 + k, "recovery: the log has a gap"))
  // As openDisk: the snapshot holds applied (so committed) entries; the saved commit may lag it.
  const commitIndex = Math.max(hardState.commitIndex, base) as LogIndex
  assert(commitIndex <= base + entries.length, "recovery: commit index beyond the recovered log")
  return { hardState: { ...hardState, commitIndex }, snapshot, entries }
}
