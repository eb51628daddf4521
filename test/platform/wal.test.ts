// The WAL on real files: round trips across reopen, suffix replacement, segment cuts, release,
// torn final saves, and refusal on corruption before the tail, whole or through a small window.
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { openWal } from "../../src/platform/wal/Wal.ts"
import type { Wal } from "../../src/platform/wal/Wal.ts"
import { WalCorruptionError, WalFailedError } from "../../src/platform/wal/WalErrors.ts"
import type { LogReplay } from "../../src/platform/wal/LogReplay.ts"
import { logIndex, term } from "../../src/raft/Types.ts"
import { configEntry, entries, entry, hardState, threeVoters, withTempDir } from "./WalTestKit.ts"

const segmentBytes = 4096
const open = (dir: string) => openWal(dir, { segmentBytes })
const logOf = (replay: LogReplay) => replay.entriesAfter(logIndex(0), term(0))

async function reopen(wal: Wal, dir: string) {
  await wal.close()
  return open(dir)
}

describe("wal", () => {
  it("round-trips hard state and entries across a reopen", async () => {
    await withTempDir(async (dir) => {
      const first = await open(dir)
      expect(logOf(first.replay)).toEqual([])
      expect(first.replay.hardState).toEqual(hardState(0, 0, 0))
      await first.wal.save(hardState(1, 1, 0), [entry(1, 1), configEntry(2, 1, threeVoters)])
      await first.wal.save(hardState(1, 1, 2), [])
      await first.wal.save(undefined, [entry(3, 1, "x".repeat(300))])
      const second = await reopen(first.wal, dir)
      expect(second.warnings).toEqual([])
      expect(second.replay.hardState).toEqual(hardState(1, 1, 2))
      expect(logOf(second.replay)).toEqual([entry(1, 1), configEntry(2, 1, threeVoters), entry(3, 1, "x".repeat(300))])
      await second.wal.close()
    })
  })

  it("entries appended at index i replace the log from i on, also after a reopen", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      await wal.save(hardState(1, 1, 0), entries(1, 5, 1))
      await wal.save(hardState(2, 2, 2), [entry(3, 2, "new3")])
      const again = await reopen(wal, dir)
      expect(logOf(again.replay)).toEqual([entry(1, 1), entry(2, 1), entry(3, 2, "new3")])
      await again.wal.save(undefined, [entry(4, 2), entry(5, 2)])
      await again.wal.save(undefined, [entry(2, 2, "new2")])
      const third = await reopen(again.wal, dir)
      expect(logOf(third.replay)).toEqual([entry(1, 1), entry(2, 2, "new2")])
      await third.wal.close()
    })
  })

  it("cuts segments when full, replays across them, and releases those a snapshot covers", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      for (let i = 1; i <= 60; i++) await wal.save(hardState(1, 1, i - 1), [entry(i, 1, "y".repeat(100))])
      const names = wal.segmentFileNames
      expect(names.length).toBeGreaterThan(2)
      expect(names[1]).toMatch(/^0000000000000001-00000000000000[0-9a-f]{2}\.wal$/)
      // A sealed segment is cut to its written length; the last one stays preallocated.
      expect((await fsp.stat(path.join(dir, names[0]!))).size).toBeLessThan(segmentBytes)
      expect((await fsp.stat(path.join(dir, names.at(-1)!))).size).toBe(segmentBytes)
      // Rewrite across the cut: the new segment's first save replaces entries of the old one.
      const secondFirst = Number.parseInt(names[1]!.slice(17, 33), 16)
      await wal.save(hardState(2, 2, 50), [entry(55, 2, "r55")])
      const again = await reopen(wal, dir)
      const expected = [...Array.from({ length: 54 }, (_, k) => entry(k + 1, 1, "y".repeat(100))), entry(55, 2, "r55")]
      expect(logOf(again.replay)).toEqual(expected)
      // A compaction at index secondFirst - 1 no longer needs the first segment.
      const snapshotIndex = logIndex(secondFirst - 1)
      await again.wal.save(undefined, [], { index: snapshotIndex, term: term(1), kind: "Compacted" })
      expect(await again.wal.releaseTo(snapshotIndex)).toBe(1)
      const third = await reopen(again.wal, dir)
      expect(third.replay.entriesAfter(logIndex(0), term(0))).toBeUndefined()
      expect(third.replay.entriesAfter(snapshotIndex, term(1))).toEqual(expected.slice(snapshotIndex))
      expect(third.replay.hardState).toEqual(hardState(2, 2, 50))
      expect(third.replay.markers.at(-1)).toEqual({ index: snapshotIndex, term: term(1), kind: "Compacted" })
      await third.wal.close()
    })
  })

  it("an Installed snapshot marker replaces the whole log", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      await wal.save(hardState(1, 1, 1), entries(1, 4, 1))
      const marker = { index: logIndex(10), term: term(3), kind: "Installed" } as const
      await wal.save(hardState(3, 0, 10), [entry(11, 3)], marker)
      const again = await reopen(wal, dir)
      expect(again.replay.entriesAfter(logIndex(0), term(0))).toBeUndefined()
      expect(again.replay.entriesAfter(logIndex(10), term(3))).toEqual([entry(11, 3)])
      expect(again.replay.entriesAfter(logIndex(11), term(3))).toEqual([])
      expect(again.replay.entriesAfter(logIndex(11), term(2))).toBeUndefined() // another term at 11
      expect(again.replay.entriesAfter(logIndex(12), term(3))).toBeUndefined() // beyond the log
      await again.wal.close()
    })
  })

  it("refuses a save that breaks the log rules before writing it", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      await wal.save(hardState(2, 1, 0), entries(1, 2, 2))
      await expect(wal.save(undefined, [entry(4, 2)])).rejects.toThrow("gap")
      await expect(wal.save(hardState(1, 1, 0), [])).rejects.toThrow("term decreases")
      await expect(wal.save(hardState(2, 3, 0), [])).rejects.toThrow("second vote")
      const beyond = { index: logIndex(3), term: term(2), kind: "Compacted" } as const
      await expect(wal.save(undefined, [], beyond)).rejects.toThrow("compaction beyond the log")
      const again = await reopen(wal, dir)
      expect(logOf(again.replay)).toEqual(entries(1, 2, 2))
      await again.wal.close()
    })
  })

  it("continues in a sealed segment when a crash lost the rename of the next one", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      let index = 0
      while (wal.segmentFileNames.length < 2) await wal.save(undefined, [entry(++index, 1, "s".repeat(100))])
      const [sealed, lost] = wal.segmentFileNames
      await wal.close()
      // The cut's directory fsync never happened: the new segment (and the save after it) is gone.
      await fsp.unlink(path.join(dir, lost!))
      const again = await open(dir)
      expect(again.warnings).toEqual([])
      expect(again.wal.segmentFileNames).toEqual([sealed])
      // The sealed segment is last again: it is topped up with zeros to the preallocated size.
      expect((await fsp.stat(path.join(dir, sealed!))).size).toBe(segmentBytes)
      expect(logOf(again.replay)).toEqual(Array.from({ length: index - 1 }, (_, k) => entry(k + 1, 1, "s".repeat(100))))
      await again.wal.save(hardState(1, 1, 0), [entry(index, 2)])
      const third = await reopen(again.wal, dir)
      expect(logOf(third.replay)?.at(-1)).toEqual(entry(index, 2))
      await third.wal.close()
    })
  })

  it("refuses every save after a failed one, and the acknowledged saves survive", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      // A directory where the next segment must be prepared makes the segment cut fail.
      await fsp.mkdir(path.join(dir, "next.wal.tmp"))
      let index = 0
      const failure = await (async () => {
        for (;;) await wal.save(undefined, [entry(++index, 1, "f".repeat(100))])
      })().catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(WalFailedError)
      await expect(wal.save(undefined, [entry(index, 1)])).rejects.toBeInstanceOf(WalFailedError)
      await wal.close()
      await fsp.rm(path.join(dir, "next.wal.tmp"), { recursive: true })
      const again = await open(dir)
      expect(logOf(again.replay)).toEqual(Array.from({ length: index - 1 }, (_, k) => entry(k + 1, 1, "f".repeat(100))))
      await again.wal.close()
    })
  })

  it("removes a leftover prepared segment and refuses a missing middle segment", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      for (let i = 1; i <= 60; i++) await wal.save(undefined, [entry(i, 1, "z".repeat(100))])
      const names = [...wal.segmentFileNames]
      await wal.close()
      await fsp.writeFile(path.join(dir, "next.wal.tmp"), "junk")
      const again = await open(dir)
      await again.wal.close()
      expect(await fsp.readdir(dir)).not.toContain("junk")
      await fsp.unlink(path.join(dir, names[1]!))
      await expect(open(dir)).rejects.toThrow(`${names[2]}: the segment before it is missing`)
    })
  })
})

/** Saves A and B (acknowledged), then C; returns the directory's bytes before and the extent of C. */
async function threeSaves(dir: string) {
  const { wal } = await openWal(dir, { segmentBytes })
  await wal.save(hardState(1, 1, 0), entries(1, 3, 1)) // A
  await wal.save(hardState(1, 1, 3), [entry(4, 1)]) // B
  const { fileName, byteOffset: start } = wal.tail
  await wal.save(hardState(2, 2, 4), [entry(5, 2, "c".repeat(40)), entry(6, 2)]) // C
  const end = wal.tail.byteOffset
  await wal.close()
  const filePath = path.join(dir, fileName)
  return { filePath, fileName, start, end, full: await fsp.readFile(filePath) }
}

const afterB = { hardState: hardState(1, 1, 3), log: entries(1, 4, 1) }

// Recovery reads a segment through a window (1 MiB by default: these files fit whole). A 16-byte
// window holds one frame header, so every frame straddles a window edge; 40 bytes splits some.
describe.each([
  { window: "whole file", scanWindowBytes: undefined },
  { window: "16 bytes", scanWindowBytes: 16 },
  { window: "40 bytes", scanWindowBytes: 40 },
])("wal recovery, reading through a window of $window", ({ scanWindowBytes }) => {
  const open = (dir: string) => openWal(dir, { segmentBytes, ...(scanWindowBytes !== undefined && { scanWindowBytes }) })
  async function reopen(wal: Wal, dir: string) {
    await wal.close()
    return open(dir)
  }

  it("cuts a torn final save at every byte offset back to the acknowledged saves", async () => {
    await withTempDir(async (dir) => {
      const { filePath, start, end, full } = await threeSaves(dir)
      expect(end - start).toBeGreaterThan(100)
      // Cut inside C's trailing zero bytes (high halves of u64s) with a zero tail, the file is whole.
      let wholeFrom = end
      while (full[wholeFrom - 1] === 0) wholeFrom--
      for (let cut = start; cut <= end; cut++) {
        for (const shape of ["zero tail", "end of file"]) {
          const bytes = shape === "zero tail" ? Buffer.concat([full.subarray(0, cut), Buffer.alloc(full.length - cut)]) : full.subarray(0, cut)
          await fsp.writeFile(filePath, bytes)
          const { wal, replay, warnings } = await open(dir)
          await wal.close()
          const label = `${shape} at ${cut}`
          if (cut === end || (shape === "zero tail" && cut >= wholeFrom)) {
            expect(logOf(replay), label).toEqual([...afterB.log, entry(5, 2, "c".repeat(40)), entry(6, 2)])
            expect(warnings, label).toEqual([])
            continue
          }
          expect(replay.hardState, label).toEqual(afterB.hardState)
          expect(logOf(replay), label).toEqual(afterB.log)
          expect(warnings.length, label).toBe(cut === start ? 0 : 1)
          if (cut > start) expect(warnings[0], label).toContain(`truncating at byte offset ${start}`)
        }
      }
    })
  })

  it("treats a torn save whose later records did reach the disk as torn, and appends after it", async () => {
    await withTempDir(async (dir) => {
      const { filePath, start, full } = await threeSaves(dir)
      const bytes = Buffer.from(full)
      bytes.fill(0, start + 16, start + 40) // a hole inside C's first record; C's later records are intact
      await fsp.writeFile(filePath, bytes)
      const { wal, replay, warnings } = await open(dir)
      expect(logOf(replay)).toEqual(afterB.log)
      expect(warnings).toHaveLength(1)
      await wal.save(undefined, [entry(5, 3)])
      const again = await reopen(wal, dir)
      expect(again.warnings).toEqual([])
      expect(logOf(again.replay)).toEqual([...afterB.log, entry(5, 3)])
      await again.wal.close()
    })
  })

  it("refuses to start on a damaged record before the final save, naming file and offset", async () => {
    await withTempDir(async (dir) => {
      const { filePath, fileName, full } = await threeSaves(dir)
      const recordOfA = 88 // the first record after the segment header frame
      for (const at of [recordOfA + 3, recordOfA + 20, recordOfA + 30]) {
        const bytes = Buffer.from(full)
        bytes[at] = bytes[at]! ^ 0x10
        await fsp.writeFile(filePath, bytes)
        const failure = await open(dir).then(() => undefined, (e: unknown) => e)
        expect(failure).toBeInstanceOf(WalCorruptionError)
        expect(failure).toMatchObject({ fileName, offset: recordOfA })
        expect(String(failure)).toContain(`${fileName}: checksum mismatch`)
      }
    })
  })

  it("refuses zeroed records followed by acknowledged ones (a lost sector, not a torn write)", async () => {
    await withTempDir(async (dir) => {
      const { filePath, fileName, start, full } = await threeSaves(dir)
      const bytes = Buffer.from(full)
      bytes.fill(0, 88, start) // A and B vanish; C is intact
      await fsp.writeFile(filePath, bytes)
      await expect(open(dir)).rejects.toThrow(`wal: ${fileName}: zeroed records before a record of another save`)
    })
  })

  it("a damaged final save is indistinguishable from a torn one: it is dropped with a warning", async () => {
    await withTempDir(async (dir) => {
      const { filePath, start, end, full } = await threeSaves(dir)
      const bytes = Buffer.from(full)
      bytes[end - 3] = bytes[end - 3]! ^ 1
      await fsp.writeFile(filePath, bytes)
      const { wal, replay, warnings } = await open(dir)
      await wal.close()
      expect(logOf(replay)).toEqual(afterB.log)
      expect(warnings[0]).toContain(`truncating at byte offset ${start}`)
    })
  })

  it("refuses damage in a sealed segment even at its very end", async () => {
    await withTempDir(async (dir) => {
      const { wal } = await open(dir)
      for (let i = 1; i <= 60; i++) await wal.save(undefined, [entry(i, 1, "w".repeat(100))])
      const sealed = wal.segmentFileNames[0]!
      await wal.close()
      const filePath = path.join(dir, sealed)
      const bytes = await fsp.readFile(filePath)
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 4
      await fsp.writeFile(filePath, bytes)
      await expect(open(dir)).rejects.toThrow(new RegExp(`wal: ${sealed}: checksum mismatch at byte offset \\d+`))
    })
  })
})
