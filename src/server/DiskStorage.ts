// The node's durable state on disk: <data-dir>/member/wal (the WAL) and <data-dir>/member/snap
// (snapshot files). Recovery = the newest snapshot the WAL vouches for + the WAL after it.
//
// One fallback is kept: WAL segments are released only up to the snapshot before the newest, so
// if the newest snapshot file turns out damaged, recovery starts from the previous one and
// replays the WAL from there (the state machine is deterministic, so that rebuilds the same
// state). Releasing up to the newest snapshot would leave nothing to fall back to.
import * as path from "node:path"
import { assert } from "../assert.ts"
import type { Storage } from "../raft/Api.ts"
import { bootstrapStorage } from "../raft/Api.ts"
import type { Config, Entry, HardState, LogIndex, Snapshot, SnapshotMeta } from "../raft/Types.ts"
import { readSnapshotFile, saveSnapshot } from "../platform/snapshot/SnapshotStore.ts"
import { recoverStorage } from "../platform/wal/RecoverStorage.ts"
import type { Wal } from "../platform/wal/Wal.ts"
import type { NodeStorage } from "./RaftNode.ts"

export interface RecoveredDisk {
  readonly storage: DiskStorage
  /** What Raft restarts from; a fresh data dir gives the bootstrap configuration. */
  readonly raftStorage: Storage
  /** True if nothing was on disk before (a new member). */
  readonly fresh: boolean
  readonly warnings: ReadonlyArray<string>
}

export interface DiskOptions {
  /** WAL segment size (the WAL's 64 MiB default otherwise); tests use small ones. */
  readonly segmentBytes?: number
}

export class DiskStorage implements NodeStorage {
  private readonly wal: Wal
  private readonly snapDir: string
  /** A commit-index-only change waits for the next write rather than costing a write of its own. */
  private deferredHardState: HardState | undefined
  /** The newest durable snapshot (0: none): the WAL is kept back to it when a newer one lands. */
  private newestSnapshotIndex: LogIndex

  constructor(wal: Wal, snapDir: string, recoveredSnapshotIndex: LogIndex) {
    this.wal = wal
    this.snapDir = snapDir
    this.newestSnapshotIndex = recoveredSnapshotIndex
  }

  save(hardState: HardState | undefined, entries: ReadonlyArray<Entry>, sync: boolean): Promise<void> {
    if (!sync && entries.length === 0) {
      // Only the commit index moved: it is a hint Raft can recompute, so it rides along later.
      this.deferredHardState = hardState ?? this.deferredHardState
      return Promise.resolve()
    }
    // A newer hard state supersedes the deferred one, which must never be written after it.
    const deferred = this.takeDeferred()
    return this.wal.save(hardState ?? deferred, entries)
  }

  readSnapshotData(meta: SnapshotMeta): Promise<Uint8Array> {
    return readSnapshotFile(this.snapDir, meta)
  }

  async saveSnapshot(snapshot: Snapshot, installed: boolean): Promise<void> {
    await saveSnapshot(this.snapDir, snapshot)
    const { index, term } = snapshot.meta
    // The marker makes the snapshot count for recovery; only then may covered segments go.
    await this.wal.save(this.takeDeferred(), [], { index, term, kind: installed ? "Installed" : "Compacted" })
    // An installed snapshot replaces the whole log: entries before it can never be replayed.
    const fallbackIndex = installed ? index : this.newestSnapshotIndex
    this.newestSnapshotIndex = index
    await this.wal.releaseTo(fallbackIndex)
  }

  private takeDeferred(): HardState | undefined {
    const state = this.deferredHardState
    this.deferredHardState = undefined
    return state
  }

  async close(): Promise<void> {
    if (this.deferredHardState !== undefined) await this.wal.save(this.takeDeferred(), [])
    await this.wal.close()
  }
}

/**
 * Opens the data dir. A snapshot counts only if the WAL holds its marker and every entry after
 * it; a damaged or uncovered newer one is skipped with a warning. Refuses to start (throws) when
 * the WAL is damaged before its tail or when no usable snapshot meets the WAL without a gap.
 */
export async function openDisk(
  dataDir: string, bootstrapConfig: Config, warn: (message: string) => void, options: DiskOptions = {},
): Promise<RecoveredDisk> {
  const memberDir = path.join(dataDir, "member")
  const snapDir = path.join(memberDir, "snap")
  const recovered = await recoverStorage({
    walDir: path.join(memberDir, "wal"),
    snapshotDir: snapDir,
    initialConfig: bootstrapConfig,
    warn,
    ...options,
  })
  const { snapshot, entries, hardState } = recovered.storage
  const storage = new DiskStorage(recovered.wal, snapDir, snapshot.meta.index)
  const warnings = recovered.warnings
  const fresh = snapshot.meta.index === 0 && entries.length === 0 && hardState.currentTerm === 0
  if (fresh) return { storage, raftStorage: bootstrapStorage(bootstrapConfig), fresh, warnings }
  assert(hardState.commitIndex <= snapshot.meta.index + entries.length,
    "recovery: commit index beyond the recovered log")
  // The snapshot holds applied, hence committed, entries; the saved commit index may lag it.
  const commitIndex = Math.max(hardState.commitIndex, snapshot.meta.index) as LogIndex
  const raftStorage: Storage = { hardState: { ...hardState, commitIndex }, snapshot, entries }
  return { storage, raftStorage, fresh, warnings }
}
