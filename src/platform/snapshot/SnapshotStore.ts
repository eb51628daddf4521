// Snapshot files in one directory, named like etcd's: %016x-%016x.snap (term, index).
//
// Saving is atomic: write a temp file, fsync it, rename it into place, fsync the directory. A
// crash leaves either the old set of snapshots or the new one, plus maybe a .tmp file that
// loading ignores and removes.
//
// Falling back: a snapshot is usable only if the caller's `accept` says so. recoverStorage accepts
// a snapshot only when the WAL holds its marker (so the snapshot was durable before anything
// relied on it) and still holds every entry after it (so nothing between it and the WAL's end is
// missing). A corrupt newest snapshot then falls back to an older one with a warning, which is
// safe because replaying the WAL from the older index rebuilds the same state; if no accepted
// snapshot is left, recovery fails rather than start from a state with a gap.
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { assert } from "../../assert.ts"
import type { LogIndex, Snapshot, SnapshotMeta, Term } from "../../raft/Types.ts"
import { logIndex, term } from "../../raft/Types.ts"
import { fsyncDirectory, makeDurableDirectory } from "../wal/DurableFs.ts"
import { formatHexPairName, parseHexPairName } from "../wal/HexPairName.ts"
import { decodeSnapshotFile, encodeSnapshotHeader } from "./SnapshotFile.ts"

export const snapshotKeepCountDefault = 5

export interface SnapshotFileName {
  readonly fileName: string
  readonly term: Term
  readonly index: LogIndex
}

export function snapshotFileName(meta: Pick<SnapshotMeta, "term" | "index">): string {
  return formatHexPairName(meta.term, meta.index, ".snap")
}

/** Snapshot files in `dir`, newest (highest index) first. */
export async function listSnapshots(dir: string): Promise<SnapshotFileName[]> {
  const names = await fsp.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return []
    throw e
  })
  return names.flatMap((fileName) => {
    const pair = parseHexPairName(fileName, ".snap")
    return pair === undefined ? [] : [{ fileName, term: term(pair[0]), index: logIndex(pair[1]) }]
  }).sort((a, b) => b.index - a.index || b.term - a.term)
}

/** Writes `snapshot` atomically, then keeps the newest `keepCount` files. Returns its file name. */
export async function saveSnapshot(
  dir: string, snapshot: Snapshot, keepCount = snapshotKeepCountDefault,
): Promise<string> {
  assert(keepCount >= 1, "saveSnapshot: keepCount must be at least 1")
  await makeDurableDirectory(dir)
  const fileName = snapshotFileName(snapshot.meta)
  const tempPath = path.join(dir, `${fileName}.tmp`)
  const handle = await fsp.open(tempPath, "w")
  try {
    const header = encodeSnapshotHeader(snapshot)
    const { bytesWritten } = await handle.writev([header, snapshot.data])
    assert(bytesWritten === header.length + snapshot.data.length, "saveSnapshot: short write")
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fsp.rename(tempPath, path.join(dir, fileName))
  await fsyncDirectory(dir)
  await pruneSnapshots(dir, keepCount)
  return fileName
}

/** Deletes all but the newest `keepCount` snapshot files and any leftover temp files. */
export async function pruneSnapshots(dir: string, keepCount: number): Promise<number> {
  const old = (await listSnapshots(dir)).slice(keepCount).map((s) => s.fileName)
  const temps = (await fsp.readdir(dir)).filter((n) => n.endsWith(".snap.tmp"))
  for (const fileName of [...old, ...temps]) await fsp.unlink(path.join(dir, fileName))
  if (old.length + temps.length > 0) await fsyncDirectory(dir)
  return old.length + temps.length
}

/** The snapshot in `fileName`, or what is wrong with it: damaged, or not the one its name says. */
async function readNamedSnapshot(dir: string, fileName: string, named: Pick<SnapshotMeta, "term" | "index">): Promise<Snapshot | string> {
  const decoded = decodeSnapshotFile(await fsp.readFile(path.join(dir, fileName)))
  if (typeof decoded === "string") return `is unusable (${decoded})`
  if (decoded.meta.index !== named.index || decoded.meta.term !== named.term) return "disagrees with its name"
  return decoded
}

/** The data of the snapshot file for `meta`; throws if it is missing, damaged or not that one. */
export async function readSnapshotFile(dir: string, meta: Pick<SnapshotMeta, "term" | "index">): Promise<Uint8Array> {
  const fileName = snapshotFileName(meta)
  const snapshot = await readNamedSnapshot(dir, fileName, meta)
  if (typeof snapshot === "string") throw new Error(`snapshot: ${fileName} ${snapshot}`)
  return snapshot.data
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot | undefined
  readonly fileName: string | undefined
  readonly warnings: ReadonlyArray<string>
}

/**
 * The newest snapshot that is intact and that `accept` takes; damaged or refused newer files are
 * skipped with a warning. Undefined when none qualifies.
 */
export async function loadNewestSnapshot(
  dir: string, accept: (meta: SnapshotMeta) => boolean,
): Promise<LoadedSnapshot> {
  const warnings: string[] = []
  for (const candidate of await listSnapshots(dir)) {
    const decoded = await readNamedSnapshot(dir, candidate.fileName, candidate)
    if (typeof decoded === "string") {
      warnings.push(`snapshot: ${candidate.fileName} ${decoded}; trying an older one`)
      continue
    }
    if (!accept(decoded.meta)) {
      const name = candidate.fileName
      warnings.push(`snapshot: ${name} is not covered by the WAL; trying an older one`)
      continue
    }
    return { snapshot: decoded, fileName: candidate.fileName, warnings }
  }
  return { snapshot: undefined, fileName: undefined, warnings }
}
