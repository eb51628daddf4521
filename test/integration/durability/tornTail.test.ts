// A torn last save: the server was killed, then the end of its last WAL save is cut short, the
// way a crash in the middle of that write would leave it. The server must start, warn naming the
// file and offsets, and keep every acknowledged write that came before the torn save.
import * as fsp from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { assert } from "../../../src/assert.ts"
import { AckedWrites } from "./AckedWrites.ts"
import { describeRecovery, expectAllAcked, loadSome, loadThenKill, withDataDir } from "./Harness.ts"
import { startServing } from "./ServerProcess.ts"
import { putKeys, readLastSegment, savesOf, type Segment } from "./WalFiles.ts"

interface LastSave {
  readonly start: number
  readonly end: number
  readonly saveSeq: number
  readonly keys: ReadonlyArray<string>
}

function lastSaveOf(segment: Segment): LastSave {
  const last = savesOf(segment).at(-1)!
  return { start: last[0]!.offset, end: last.at(-1)!.next, saveSeq: last[0]!.saveSeq, keys: putKeys(segment, last) }
}

/** Damage done to the tail; returns the keys it legitimately loses (those of a cut save). */
type Tear = (segment: Segment, last: LastSave) => Promise<ReadonlyArray<string>>

const tears: ReadonlyArray<{ readonly name: string; readonly tear: Tear; readonly expectWarning: (s: Segment, l: LastSave) => string }> = [
  {
    name: "the file truncated in the middle of the last save",
    tear: async (segment, last) => {
      await fsp.truncate(segment.filePath, last.start + Math.floor((last.end - last.start) / 2))
      return last.keys
    },
    expectWarning: (s, l) => `truncating at byte offset ${l.start}: it was never acknowledged`,
  },
  {
    name: "the second half of the last save never reached the disk (zeros)",
    tear: async (segment, last) => {
      const handle = await fsp.open(segment.filePath, "r+")
      const middle = last.start + Math.floor((last.end - last.start) / 2)
      await handle.write(Buffer.alloc(last.end - middle), 0, last.end - middle, middle)
      await handle.close()
      return last.keys
    },
    expectWarning: (s, l) => `truncating at byte offset ${l.start}: it was never acknowledged`,
  },
  {
    name: "a partial record of a next save appended after the last one",
    tear: async (segment, last) => {
      // A frame header for save S+1 announcing 4000 payload bytes, of which only 100 arrived.
      const partial = Buffer.alloc(16 + 100, 0x77)
      partial.writeUInt32LE(4000, 4)
      partial.writeUInt8(2, 8) // an Entry
      partial.writeUInt8(1, 9) // last of its save
      partial.writeUInt16LE(0, 10)
      partial.writeUInt32LE(last.saveSeq + 1, 12)
      const handle = await fsp.open(segment.filePath, "r+")
      await handle.write(partial, 0, partial.length, last.end)
      await handle.close()
      return [] // nothing that was written before is lost
    },
    expectWarning: (s, l) => `(checksum mismatch at byte offset ${l.end}); truncating at byte offset ${l.end}`,
  },
]

describe("a torn tail of the WAL", () => {
  for (const { name, tear, expectWarning } of tears) {
    it(`starts with a warning and keeps what came before: ${name}`, async () => {
      await withDataDir(async (dataDir) => {
        const ledger = new AckedWrites()
        const first = await startServing(dataDir)
        await loadThenKill(first, ledger, "load", 1500)
        const segment = await readLastSegment(dataDir)
        const last = lastSaveOf(segment)
        // The torn save really carried puts (so the test is about losing a write, not a no-op).
        expect(last.keys.length).toBeGreaterThan(0)
        const lost = new Set(await tear(segment, last))

        const recovered = await startServing(dataDir)
        const log = recovered.log()
        expect(log).toContain(`W | verikv: wal: ${segment.fileName}: the final save is incomplete`)
        expect(log).toContain(expectWarning(segment, last))
        const report = await expectAllAcked(recovered, ledger, lost)
        for (const key of lost) expect(report.present.has(key), key).toBe(false)
        console.log(describeRecovery(`[torn: ${name}] (${lost.size} keys cut)`, recovered, report, ledger))

        // The repaired WAL takes new writes, and they survive another crash; no warning this time.
        await loadSome(recovered, ledger, "after", 200)
        await recovered.kill9()
        const again = await startServing(dataDir)
        assert(!again.log().includes(" W | "), `no warning after the repair:\n${again.log()}`)
        await expectAllAcked(again, ledger, lost)
        await again.kill9()
      })
    })
  }
})
