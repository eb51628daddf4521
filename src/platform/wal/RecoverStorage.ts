// What a node does on start: open the WAL, pick the newest snapshot the WAL vouches for, and
// rebuild the Raft Storage from that snapshot plus the WAL's entries after it.
import type { Storage } from "../../raft/Api.ts"
import type { Config, Snapshot, SnapshotMeta } from "../../raft/Types.ts"
import { logIndex, term } from "../../raft/Types.ts"
import { loadNewestSnapshot } from "../snapshot/SnapshotStore.ts"
import { openWal } from "./Wal.ts"
import type { Wal, WalOptions } from "./Wal.ts"

export interface RecoverOptions extends WalOptions {
  readonly walDir: string
  readonly snapshotDir: string
  /** The configuration of a node whose log starts at index 1 with no snapshot (a new cluster). */
  readonly initialConfig: Config
}

export interface RecoveredStorage {
  /** Raft's durable state: the snapshot (data = KV state bytes), hard state, entries after it. */
  readonly storage: Storage
  /** Open for appending after the recovered state. */
  readonly wal: Wal
  readonly warnings: ReadonlyArray<string>
}

export class RecoveryError extends Error {
  override readonly name = "RecoveryError"
}

/**
 * A snapshot qualifies if the WAL holds its marker (it was durable before anything depended on
 * it) and still holds every entry after it. Index 0 (no snapshot) qualifies if the WAL reaches
 * back to index 1. Newer snapshots that do not qualify are skipped with a warning.
 */
export async function recoverStorage(options: RecoverOptions): Promise<RecoveredStorage> {
  const { wal, replay, warnings: walWarnings } = await openWal(options.walDir, options)
  const qualifies = (meta: Pick<SnapshotMeta, "index" | "term">): boolean =>
    replay.markers.some((m) => m.index === meta.index && m.term === meta.term) &&
    replay.entriesAfter(meta.index, meta.term) !== undefined
  const loaded = await loadNewestSnapshot(options.snapshotDir, qualifies)
  for (const w of loaded.warnings) options.warn?.(w)
  const warnings = [...walWarnings, ...loaded.warnings]
  const empty: Snapshot = {
    meta: { index: logIndex(0), term: term(0), config: options.initialConfig },
    data: new Uint8Array(),
  }
  const fromIndexOne = replay.entriesAfter(logIndex(0), term(0)) !== undefined
  const snapshot = loaded.snapshot ?? (fromIndexOne ? empty : undefined)
  if (snapshot === undefined) {
    await wal.close()
    throw new RecoveryError(
      `recovery: no snapshot in ${options.snapshotDir} is usable and the WAL in ` +
        `${options.walDir} ` +
        `starts after index ${replay.lowestKnownIndex}; refusing to start with a gap in the log`)
  }
  const entries = replay.entriesAfter(snapshot.meta.index, snapshot.meta.term)!
  return { storage: { hardState: replay.hardState, snapshot, entries }, wal, warnings }
}
