// Reading and damaging the server's WAL from the outside, the way a crash or a bad disk would:
// the frames of the last segment (format in src/platform/wal/RecordFrame.ts), where the written
// data ends (segments are preallocated with zeros), which saves the frames belong to, and which
// keys the entries of a save put.
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { assert } from "../../../src/assert.ts"
import { readFrame, RecordType } from "../../../src/platform/wal/RecordFrame.ts"
import { readEntry } from "../../../src/platform/wal/RecordCodec.ts"
import { parseSegmentFileName } from "../../../src/platform/wal/SegmentName.ts"
import { decodeEntryPayload } from "../../../src/server/EntryData.ts"

export interface Frame {
  readonly offset: number
  /** Offset just past the frame (its padding included). */
  readonly next: number
  readonly type: number
  readonly saveSeq: number
  readonly payloadStart: number
  readonly payloadBytes: number
}

export interface Segment {
  readonly filePath: string
  readonly fileName: string
  readonly bytes: Buffer
  /** Every intact frame from the start of the file up to the written end, in order. */
  readonly frames: ReadonlyArray<Frame>
}

export const walDir = (dataDir: string): string => path.join(dataDir, "member", "wal")
export const snapDir = (dataDir: string): string => path.join(dataDir, "member", "snap")

export async function segmentFileNames(dataDir: string): Promise<string[]> {
  const names = await fsp.readdir(walDir(dataDir))
  return names.flatMap((n) => parseSegmentFileName(n) ?? []).sort((a, b) => a.segmentSeq - b.segmentSeq)
    .map((s) => s.fileName)
}

export async function snapshotFileNames(dataDir: string): Promise<string[]> {
  return (await fsp.readdir(snapDir(dataDir)).catch(() => [])).filter((n) => n.endsWith(".snap")).sort()
}

/** The last segment, scanned up to the first frame that is not an intact record. */
export async function readLastSegment(dataDir: string): Promise<Segment> {
  const fileName = (await segmentFileNames(dataDir)).at(-1)
  assert(fileName !== undefined, "the WAL has a segment")
  const filePath = path.join(walDir(dataDir), fileName)
  const bytes = await fsp.readFile(filePath)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const frames: Frame[] = []
  for (let offset = 0; ;) {
    const frame = readFrame(bytes, view, offset, bytes.length)
    if (frame.kind !== "Record") break
    frames.push({ offset, next: frame.next, type: frame.type, saveSeq: frame.saveSeq, payloadStart: frame.payloadStart, payloadBytes: frame.payloadBytes })
    offset = frame.next
  }
  return { filePath, fileName, bytes, frames }
}

/** The frames of each save, oldest save first (the segment header is a save of its own). */
export function savesOf(segment: Segment): Frame[][] {
  const saves: Frame[][] = []
  for (const frame of segment.frames) {
    const current = saves.at(-1)
    if (current !== undefined && current[0]!.saveSeq === frame.saveSeq) current.push(frame)
    else saves.push([frame])
  }
  return saves
}

/** The keys that the Put entries among `frames` write. */
export function putKeys(segment: Segment, frames: ReadonlyArray<Frame>): string[] {
  const view = new DataView(segment.bytes.buffer, segment.bytes.byteOffset, segment.bytes.byteLength)
  const keys: string[] = []
  for (const frame of frames) {
    if (frame.type !== RecordType.Entry) continue
    const entry = readEntry(segment.bytes, view, frame.payloadStart, frame.payloadStart + frame.payloadBytes)
    if (entry.type !== "Normal" || entry.data.length === 0) continue
    const payload = decodeEntryPayload(entry.data)
    if (payload.kind === "Kv" && payload.command.type === "Put") keys.push(Buffer.from(payload.command.request.key).toString())
  }
  return keys
}

/** Flips bits of one byte in place (a bad sector, a stray write). */
export async function flipByte(filePath: string, offset: number): Promise<void> {
  const handle = await fsp.open(filePath, "r+")
  try {
    const one = Buffer.alloc(1)
    await handle.read(one, 0, 1, offset)
    one[0] = one[0]! ^ 0x5a
    await handle.write(one, 0, 1, offset)
  } finally {
    await handle.close()
  }
}
