// The write-ahead log: segmented, preallocated files of checksummed records. Each save is one
// durable write (group commit: the node loop hands over everything one turn produced), and its
// promise resolves only once the data is durable. Saves run strictly one after another,
// which is what lets recovery tell a torn final save from corruption (see SegmentScan.ts).
import { constants as fsConstants } from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { assert } from "../../assert.ts"
import type { Entry, HardState, LogIndex } from "../../raft/Types.ts"
import { logIndex, nodeId, term } from "../../raft/Types.ts"
import { fsyncDirectory, makeDurableDirectory, writeFully, writeZeros } from "./DurableFs.ts"
import { LogReplay } from "./LogReplay.ts"
import { frameBytes } from "./RecordFrame.ts"
import { segmentHeaderBytes, walFormatVersion } from "./RecordCodec.ts"
import type { SegmentHeader, SnapshotMarker } from "./RecordCodec.ts"
import { encodeSave, encodeSegmentHeader, saveBytes, saveRecordCount } from "./SaveEncoder.ts"
import type { SaveContent } from "./SaveEncoder.ts"
import { parseSegmentFileName, preparedSegmentFileName, segmentFileName } from "./SegmentName.ts"
import type { SegmentName } from "./SegmentName.ts"
import { scanSegment } from "./SegmentScan.ts"
import type { ScannedSegment, SegmentSource } from "./SegmentScan.ts"
import { WalCorruptionError, WalFailedError } from "./WalErrors.ts"

export const walSegmentBytesDefault = 64 << 20
/** How much of a segment recovery holds in memory at once (see SegmentScan.ts). */
const scanWindowBytesDefault = 1 << 20
const segmentHeaderFrameBytes = frameBytes(segmentHeaderBytes)
/**
 * Saves up to this size go through an O_DSYNC descriptor: one pwrite that returns once durable,
 * one trip to the thread pool instead of two (write, then fdatasync). Measured here (npm run
 * bench:wal, p50): 1-entry saves 139 us against 196 us, 16 entries (~5 KiB) 168 against 196 us;
 * but 128-entry saves (~40 KiB) were 2-3x slower through O_DSYNC, so larger saves keep
 * write + fdatasync.
 */
export const dsyncSaveBytesMax = 8192
/** O_DSYNC: each write on this descriptor is durable, as if followed by fdatasync. */
const SYNC_WRITE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_DSYNC

export interface WalOptions {
  /** Segments are preallocated to this size and cut when a save would not fit (64 MiB). */
  readonly segmentBytes?: number
  /** Receives each recovery warning as it is found (they are also returned). */
  readonly warn?: (message: string) => void
  /** How much of a segment recovery reads at a time (1 MiB; tests use small windows). */
  readonly scanWindowBytes?: number
}

export interface OpenedWal {
  readonly wal: Wal
  /** The durable state: hard state, snapshot markers, and the log (see LogReplay.entriesAfter). */
  readonly replay: LogReplay
  readonly warnings: ReadonlyArray<string>
}

interface WriterState {
  readonly segments: SegmentName[]
  handle: fsp.FileHandle
  /** The same segment opened with O_DSYNC, for small saves. */
  syncHandle: fsp.FileHandle
  writeOffset: number
  lastSaveSeq: number
  lastIndex: LogIndex
  hardState: HardState
  snapshotMarker: SnapshotMarker | undefined
}

export class Wal {
  private readonly dir: string
  private readonly segmentBytes: number
  private readonly state: WriterState
  private prepared: Promise<fsp.FileHandle> | undefined
  private queue: Promise<void> = Promise.resolve()
  private failure: { readonly cause: unknown } | undefined
  private closed = false

  constructor(dir: string, segmentBytes: number, state: WriterState) {
    this.dir = dir
    this.segmentBytes = segmentBytes
    this.state = state
    this.prepared = undefined
  }

  /**
   * Appends a snapshot marker (if any), then `entries`, then `hardState` (if any), with one write
   * and one fdatasync, and resolves once they are durable. Entries starting at or below the last
   * index replace the log from there on. Rejects with WalFailedError forever after an I/O failure.
   */
  save(
    hardState: HardState | undefined,
    entries: ReadonlyArray<Entry>,
    snapshotMarker?: SnapshotMarker,
  ): Promise<void> {
    const run = this.queue.then(() => this.saveNow({ snapshotMarker, entries, hardState }))
    this.queue = run.catch(() => {})
    return run
  }

  /**
   * Deletes the oldest segments that hold nothing needed to recover from a snapshot at `index`
   * (call it only once that snapshot and its WAL marker are durable). The last segment stays.
   * Returns how many segments were removed.
   */
  releaseTo(index: LogIndex): Promise<number> {
    const run = this.queue.then(() => this.releaseNow(index))
    this.queue = run.then(() => {}, () => {})
    return run
  }

  /** Waits for pending saves, then closes the files. */
  async close(): Promise<void> {
    this.closed = true
    await this.queue
    const closing = Promise.all([this.state.handle.close(), this.state.syncHandle.close()])
    // After a failure mid-cut the handles may already be closed; the failure was reported then.
    await (this.failure === undefined ? closing : closing.catch(() => {}))
    const prepared = await this.prepared?.catch(() => undefined)
    await prepared?.close()
  }

  /** Where the next save will be written: for logs and for tests that cut a save short. */
  get tail(): { readonly fileName: string; readonly byteOffset: number } {
    return { fileName: this.state.segments.at(-1)!.fileName, byteOffset: this.state.writeOffset }
  }

  get segmentFileNames(): ReadonlyArray<string> {
    return this.state.segments.map((s) => s.fileName)
  }

  private async saveNow(content: SaveContent): Promise<void> {
    if (this.failure !== undefined) throw new WalFailedError(this.failure.cause)
    assert(!this.closed, "wal: save after close")
    if (saveRecordCount(content) === 0) return
    this.checkSave(content)
    const s = this.state
    try {
      const bytes = saveBytes(content)
      const full = s.writeOffset + bytes > this.segmentBytes
      if (full && s.writeOffset > segmentHeaderFrameBytes) await this.cut()
      const buffer = encodeSave(content, s.lastSaveSeq + 1)
      if (buffer.length <= dsyncSaveBytesMax) {
        await writeFully(s.syncHandle, buffer, 0, buffer.length, s.writeOffset)
      } else {
        await writeFully(s.handle, buffer, 0, buffer.length, s.writeOffset)
        await s.handle.datasync()
      }
      s.writeOffset += buffer.length
      // Prepare the next segment once this one is half full: early enough to be ready at the cut,
      // late enough not to compete with the first saves after a start for the disk.
      if (this.prepared === undefined && s.writeOffset >= this.segmentBytes / 2) {
        this.prepared = this.prepareSegment()
      }
    } catch (cause) {
      this.failure = { cause }
      throw new WalFailedError(cause)
    }
    s.lastSaveSeq++
    const marker = content.snapshotMarker
    if (marker !== undefined) {
      s.snapshotMarker = marker
      if (marker.kind === "Installed") s.lastIndex = marker.index
    }
    const last = content.entries.at(-1)
    if (last !== undefined) s.lastIndex = last.index
    if (content.hardState !== undefined) s.hardState = content.hardState
  }

  /** The rules recovery relies on, checked before the bytes are written (and again on replay). */
  private checkSave(content: SaveContent): void {
    const s = this.state
    const marker = content.snapshotMarker
    const lastIndex = marker?.kind === "Installed" ? marker.index : s.lastIndex
    const entries = content.entries
    for (let k = 1; k < entries.length; k++) {
      assert(entries[k]!.index === entries[k - 1]!.index + 1, "wal save: entries not contiguous")
      assert(entries[k]!.term >= entries[k - 1]!.term, "wal save: entry terms decrease")
    }
    const first = entries[0]
    assert(first === undefined || first.index <= lastIndex + 1, "wal save: gap before the entries")
    // A local snapshot covers applied entries, which are durable: replay relies on it.
    const compactedTooFar = marker?.kind === "Compacted" && marker.index > s.lastIndex
    assert(!compactedTooFar, "wal save: compaction beyond the log")
    const h = content.hardState
    if (h !== undefined) {
      const old = s.hardState
      assert(h.currentTerm >= old.currentTerm, "wal save: hard state term decreases")
      assert(h.currentTerm > old.currentTerm || old.votedFor === 0 || h.votedFor === old.votedFor,
        "wal save: second vote in one term")
    }
  }

  /** Seals the current segment and continues in the prepared one. */
  private async cut(): Promise<void> {
    const s = this.state
    const previous = s.segments.at(-1)!
    const handle = await (this.prepared ?? this.prepareSegment())
    this.prepared = undefined
    // Only the last segment may end in zeros: recovery treats a zero gap elsewhere as damage.
    await s.handle.truncate(s.writeOffset)
    await s.handle.sync()
    await s.handle.close()
    await s.syncHandle.close()
    const header: SegmentHeader = {
      formatVersion: walFormatVersion,
      segmentSeq: previous.segmentSeq + 1,
      firstIndex: logIndex(s.lastIndex + 1),
      hardState: s.hardState,
      snapshotMarker: s.snapshotMarker,
    }
    const bytes = encodeSegmentHeader(header, s.lastSaveSeq + 1)
    await writeFully(handle, bytes, 0, bytes.length, 0)
    await handle.datasync()
    const fileName = segmentFileName(header.segmentSeq, header.firstIndex)
    await fsp.rename(path.join(this.dir, preparedSegmentFileName), path.join(this.dir, fileName))
    await fsyncDirectory(this.dir)
    s.segments.push({ segmentSeq: header.segmentSeq, firstIndex: header.firstIndex, fileName })
    s.handle = handle
    s.syncHandle = await fsp.open(path.join(this.dir, fileName), SYNC_WRITE_FLAGS)
    s.writeOffset = bytes.length
    s.lastSaveSeq++
  }

  /** Zero-fills the next segment in the background (like etcd's file pipeline) for the next cut. */
  private prepareSegment(): Promise<fsp.FileHandle> {
    const preparedPath = path.join(this.dir, preparedSegmentFileName)
    const prepared = createZeroFilled(preparedPath, this.segmentBytes)
    prepared.catch(() => {}) // a failure surfaces at the cut that awaits it
    return prepared
  }

  private async releaseNow(index: LogIndex): Promise<number> {
    const segments = this.state.segments
    let removable = 0
    const coveredBefore = (k: number): boolean => segments[k + 1]!.firstIndex <= index + 1
    while (removable + 1 < segments.length && coveredBefore(removable)) removable++
    // Oldest first, so a crash midway leaves a contiguous run of segments.
    for (const segment of segments.slice(0, removable)) {
      await fsp.unlink(path.join(this.dir, segment.fileName))
    }
    if (removable > 0) await fsyncDirectory(this.dir)
    segments.splice(0, removable)
    return removable
  }
}

async function createZeroFilled(filePath: string, bytes: number): Promise<fsp.FileHandle> {
  const handle = await fsp.open(filePath, "w+")
  try {
    await writeZeros(handle, 0, bytes)
    await handle.datasync()
    return handle
  } catch (error) {
    await handle.close()
    throw error
  }
}

/**
 * Opens (or creates) the WAL in `dir` and replays it. A torn final save is cut off with a warning;
 * any other damage throws WalCorruptionError naming the file and byte offset.
 */
export async function openWal(dir: string, options: WalOptions = {}): Promise<OpenedWal> {
  const segmentBytes = options.segmentBytes ?? walSegmentBytesDefault
  assert(segmentBytes >= 4096, "wal: segmentBytes below 4 KiB")
  assert(segmentBytes % 4096 === 0, "wal: segmentBytes not a multiple of 4 KiB")
  const warnings: string[] = []
  const warn = (message: string): void => {
    warnings.push(message)
    options.warn?.(message)
  }
  await makeDurableDirectory(dir)
  const segments = await listSegments(dir)
  if (segments.length === 0) segments.push(await createFirstSegment(dir, segmentBytes))
  let replay: LogReplay | undefined
  let lastSaveSeq: number | undefined
  let validEnd = 0
  for (const [k, segment] of segments.entries()) {
    const isLast = k === segments.length - 1
    const fileName = segment.fileName
    const file = await fsp.open(path.join(dir, fileName), "r")
    let scanned: ScannedSegment
    let fileBytes: number
    try {
      fileBytes = (await file.stat()).size
      const source: SegmentSource = {
        length: fileBytes,
        read: async (into, offset, length, position) => (await file.read(into, offset, length, position)).bytesRead,
      }
      const windowBytes = options.scanWindowBytes ?? scanWindowBytesDefault
      scanned = await scanSegment(source, { fileName, isLast, previousSaveSeq: lastSaveSeq, windowBytes })
    } finally {
      await file.close()
    }
    const header = scanned.header
    const corrupt = (reason: string): WalCorruptionError =>
      new WalCorruptionError(fileName, 0, reason)
    if (header.formatVersion !== walFormatVersion) {
      throw corrupt(`unknown format version ${header.formatVersion}`)
    }
    if (header.segmentSeq !== segment.segmentSeq || header.firstIndex !== segment.firstIndex) {
      throw corrupt("segment header disagrees with the file name")
    }
    if (replay === undefined) replay = new LogReplay(header)
    else {
      const mismatch = replay.headerMismatch(header)
      if (mismatch !== undefined) throw corrupt(mismatch)
    }
    for (const record of scanned.records) replay.apply(record)
    lastSaveSeq = scanned.lastSaveSeq
    validEnd = scanned.validEnd
    const torn = scanned.tornTail
    if (torn !== undefined) {
      warn(`wal: ${fileName}: the final save is incomplete (${torn.reason} at byte offset ` +
        `${torn.damageOffset}); truncating at byte offset ${torn.validEnd}: ` +
        "it was never acknowledged")
    }
    // scanSegment vouches that past validEnd there are only zeros, unless the final save was torn.
    if (isLast && (torn !== undefined || fileBytes < segmentBytes)) {
      await zeroTail(path.join(dir, segment.fileName), validEnd, fileBytes, segmentBytes)
    }
  }
  assert(replay !== undefined && lastSaveSeq !== undefined, "wal: no segment replayed")
  const lastPath = path.join(dir, segments.at(-1)!.fileName)
  const handle = await fsp.open(lastPath, "r+")
  const syncHandle = await fsp.open(lastPath, SYNC_WRITE_FLAGS)
  const wal = new Wal(dir, segmentBytes, {
    segments,
    handle,
    syncHandle,
    writeOffset: validEnd,
    lastSaveSeq,
    lastIndex: replay.lastIndex,
    hardState: replay.hardState,
    snapshotMarker: replay.markers.at(-1),
  })
  return { wal, replay, warnings }
}

/** The segment files in order; removes leftover prepared segments; refuses a missing middle. */
async function listSegments(dir: string): Promise<SegmentName[]> {
  const names = await fsp.readdir(dir)
  const leftovers = names.filter((n) => n.endsWith(".tmp"))
  for (const n of leftovers) await fsp.unlink(path.join(dir, n))
  if (leftovers.length > 0) await fsyncDirectory(dir)
  const segments = names.flatMap((n) => parseSegmentFileName(n) ?? [])
  segments.sort((a, b) => a.segmentSeq - b.segmentSeq)
  for (const [k, s] of segments.entries()) {
    if (s.segmentSeq !== segments[0]!.segmentSeq + k) {
      throw new WalCorruptionError(s.fileName, 0, "the segment before it is missing")
    }
  }
  return segments
}

async function createFirstSegment(dir: string, segmentBytes: number): Promise<SegmentName> {
  const header: SegmentHeader = {
    formatVersion: walFormatVersion,
    segmentSeq: 0,
    firstIndex: logIndex(1),
    hardState: { currentTerm: term(0), votedFor: nodeId(0), commitIndex: logIndex(0) },
    snapshotMarker: undefined,
  }
  const preparedPath = path.join(dir, preparedSegmentFileName)
  const handle = await createZeroFilled(preparedPath, segmentBytes)
  try {
    const bytes = encodeSegmentHeader(header, 1)
    await writeFully(handle, bytes, 0, bytes.length, 0)
    await handle.datasync()
  } finally {
    await handle.close()
  }
  const fileName = segmentFileName(header.segmentSeq, header.firstIndex)
  await fsp.rename(preparedPath, path.join(dir, fileName))
  await fsyncDirectory(dir)
  return { segmentSeq: header.segmentSeq, firstIndex: header.firstIndex, fileName }
}

/**
 * Zeroes a cut-off save at the end of the last segment, so it can never be mistaken for data
 * later, and tops the file up to the preallocated size (a sealed segment may have become last).
 */
async function zeroTail(
  filePath: string, validEnd: number, fileBytes: number, segmentBytes: number,
): Promise<void> {
  const handle = await fsp.open(filePath, "r+")
  try {
    await writeZeros(handle, validEnd, Math.max(fileBytes, segmentBytes))
    await handle.datasync()
  } finally {
    await handle.close()
  }
}
