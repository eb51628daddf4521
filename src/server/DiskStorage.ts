// The node's durable state on disk: <data-dir>/member/wal (the WAL) and <data-dir>/member/snap
// (snapshot files). Recovery = the newest snapshot the WAL still covers + the WAL after it.
import * as path from "node:path"
import { assert } from "../assert.ts"
import type { Storage } from "../raft/Api.ts"
import { bootstrapStorage } from "../raft/Api.ts"
import type { Config, Entry, HardState, Snapshot } from "../raft/Types.ts"
import { loadNewestSnapshot, saveSnapshot } from "../platform/snapshot/SnapshotStore.ts"
import { openWal, type Wal } from "../platform/wal/Wal.ts"
import type { NodeStorage } from "./RaftNode.ts"

export interface RecoveredDisk {
  readonly storage: DiskStorage
  /** What Raft restarts from; a fresh data dir gives the bootstrap configuration. */
  readonly raftStorage: Storage
  /** True if nothing was on disk before (a new member). */
  readonly fresh: boolean
  readonly warnings: ReadonlyArray<string>
}

export class DiskStorage implements NodeStorage {
  private readonly wal: Wal
  private readonly snapDir: string
  /** A commit-index-only change waits for the next write rather than costing a write of its own. */
  private deferredHardState: HardState | undefined

  constructor(wal: Wal, snapDir: string) {
    this.wal = wal
    this.snapDir = snapDir
  }

  save(hardState: HardState | undefined, entries: ReadonlyArray<Entry>, sync: boolean): Promise<void> {
    if (!sync && entries.length === 0) {
      // Only the commit index moved: it is a hint Raft can recompute, so it rides along later.
      this.deferredHardState = hardState
      return Promise.resolve()
    }
    const state = hardState ?? this.deferredHardState
    this.deferredHardState = undefined
    return this.wal.save(state, entries)
  }

  async saveSnapshot(snapshot: Snapshot, installed: boolean): Promise<void> {
    await saveSnapshot(this.snapDir, snapshot)
    const { index, term } = snapshot.meta
    // The marker tells replay where the log restarts; only then may covered segments go.
    await this.wal.save(this.takeDeferred(), [], { index, term, kind: installed ? "Installed" : "Compacted" })
    await this.wal.releaseTo(index)
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

export async function openDisk(dataDir: string, bootstrapConfig: Config, warn: (message: string) => void): Promise<RecoveredDisk> {
  const memberDir = path.join(dataDir, "member")
  const snapDir = path.join(memberDir, "snap")
  const { wal, replay, warnings: walWarnings } = await openWal(path.join(memberDir, "wal"), { warn })
  const loaded = await loadNewestSnapshot(snapDir, (meta) => replay.entriesAfter(meta.index, meta.term) !== undefined)
  for (const warning of loaded.warnings) warn(warning)
  const storage = new DiskStorage(wal, snapDir)
  const warnings = [...walWarnings, ...loaded.warnings]
  const hardState = replay.hardState
  const fresh = loaded.snapshot === undefined && replay.lastIndex === 0 && hardState.currentTerm === 0
  if (fresh) return { storage, raftStorage: bootstrapStorage(bootstrapConfig), fresh, warnings }
  const base = loaded.snapshot ?? bootstrapStorage(bootstrapConfig).snapshot
  const entries = replay.entriesAfter(base.meta.index, base.meta.term)
  if (entries === undefined) {
    throw new Error(`recovery: the WAL does not reach back to snapshot index ${base.meta.index}; refusing to start without the log in between`)
  }
  assert(hardState.commitIndex <= base.meta.index + entries.length || hardState.commitIndex <= base.meta.index,
    "recovery: commit index beyond the recovered log")
  const commitIndex = Math.max(hardState.commitIndex, base.meta.index) as HardState["commitIndex"]
  return { storage, raftStorage: { hardState: { ...hardState, commitIndex }, snapshot: base, entries }, fresh, warnings }
}
