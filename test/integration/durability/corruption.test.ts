// Damage before the tail: one byte of an earlier, acknowledged WAL record is changed. The server
// must refuse to start, name the file and the record's byte offset, exit non-zero, and leave the
// files as they were (with the byte restored, everything is there).
import { describe, expect, it } from "vitest"
import { AckedWrites } from "./AckedWrites.ts"
import { expectAllAcked, loadSome, withDataDir } from "./Harness.ts"
import { startServer, startServing } from "./ServerProcess.ts"
import { flipByte, readLastSegment, savesOf, type Frame } from "./WalFiles.ts"
import { RecordType } from "../../../src/platform/wal/RecordFrame.ts"

const damages: ReadonlyArray<{ readonly name: string; readonly at: (frame: Frame) => number }> = [
  { name: "a byte of an entry's payload", at: (frame) => frame.payloadStart + Math.floor(frame.payloadBytes / 2) },
  { name: "the record's length field", at: (frame) => frame.offset + 5 },
  { name: "the record's type byte", at: (frame) => frame.offset + 8 },
]

describe("a damaged record before the tail of the WAL", () => {
  it("refuses to start, naming the file and the byte offset; nothing is changed on disk", async () => {
    await withDataDir(async (dataDir) => {
      const ledger = new AckedWrites()
      const first = await startServing(dataDir)
      await loadSome(first, ledger, "load", 2000)
      await first.kill9()
      const segment = await readLastSegment(dataDir)
      const saves = savesOf(segment)
      expect(saves.length).toBeGreaterThan(10)
      // An entry record of a save in the middle: acknowledged long before the end.
      const middle = saves[Math.floor(saves.length / 2)]!
      const victim = middle.find((f) => f.type === RecordType.Entry)!
      for (const { name, at } of damages) {
        await flipByte(segment.filePath, at(victim))
        const outcome = await startServer(dataDir)
        expect(outcome.kind, name).toBe("Exited")
        if (outcome.kind !== "Exited") throw new Error("unreachable")
        expect(outcome.exit.code, name).not.toBe(0)
        expect(outcome.exit.code, name).not.toBeNull()
        expect(outcome.log, name).toContain(`wal: ${segment.fileName}: `)
        expect(outcome.log, name).toContain(`at byte offset ${victim.offset}; refusing to start`)
        console.log(`[corruption: ${name}] exit code ${outcome.exit.code}: ${outcome.log.split("\n").find((l) => l.includes("refusing"))}`)
        await flipByte(segment.filePath, at(victim)) // flipping again restores the byte
      }
      const restored = await startServing(dataDir)
      await expectAllAcked(restored, ledger)
      await restored.kill9()
    })
  })
})
