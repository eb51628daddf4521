// Snapshot files: atomic save, retention, damage detection, and recovery's choice of snapshot.
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { listSnapshots, loadNewestSnapshot, saveSnapshot } from "../../src/platform/snapshot/SnapshotStore.ts"
import { recoverStorage, RecoveryError } from "../../src/platform/wal/RecoverStorage.ts"
import { openWal } from "../../src/platform/wal/Wal.ts"
import type { Snapshot } from "../../src/raft/Types.ts"
import { logIndex, term } from "../../src/raft/Types.ts"
import { entries, entry, hardState, threeVoters, withTempDir } from "./WalTestKit.ts"

const snapshotAt = (index: number, snapshotTerm: number, text = `state@${index}`): Snapshot => ({
  meta: { index: logIndex(index), term: term(snapshotTerm), config: threeVoters },
  data: new TextEncoder().encode(text),
})
const acceptAll = () => true

describe("snapshot store", () => {
  it("saves and loads the newest snapshot; ignores a leftover temp file", async () => {
    await withTempDir(async (dir) => {
      await saveSnapshot(dir, snapshotAt(10, 2))
      await saveSnapshot(dir, snapshotAt(20, 3))
      // A crash before the rename leaves only a temp file behind, possibly half written.
      await fsp.writeFile(path.join(dir, "0000000000000003-000000000000001e.snap.tmp"), "half")
      const loaded = await loadNewestSnapshot(dir, acceptAll)
      expect(loaded.snapshot).toEqual(snapshotAt(20, 3))
      expect(loaded.warnings).toEqual([])
      expect(loaded.fileName).toBe("0000000000000003-0000000000000014.snap")
    })
  })

  it("keeps the newest N files and removes temp leftovers when saving", async () => {
    await withTempDir(async (dir) => {
      for (let i = 1; i <= 7; i++) await saveSnapshot(dir, snapshotAt(i * 10, 1), 3)
      expect((await listSnapshots(dir)).map((s) => s.index)).toEqual([70, 60, 50])
      await fsp.writeFile(path.join(dir, "x.snap.tmp"), "junk")
      await saveSnapshot(dir, snapshotAt(80, 1), 3)
      expect((await fsp.readdir(dir)).sort()).toEqual((await listSnapshots(dir)).map((s) => s.fileName).sort())
    })
  })

  it("detects any damaged byte and falls back to an older snapshot with a warning", async () => {
    await withTempDir(async (dir) => {
      await saveSnapshot(dir, snapshotAt(10, 2))
      const newest = await saveSnapshot(dir, snapshotAt(20, 3))
      const good = await fsp.readFile(path.join(dir, newest))
      for (let i = 0; i < good.length; i++) {
        const bad = Buffer.from(good)
        bad[i] = bad[i]! ^ 0x20
        await fsp.writeFile(path.join(dir, newest), bad)
        const loaded = await loadNewestSnapshot(dir, acceptAll)
        expect(loaded.snapshot, `byte ${i}`).toEqual(snapshotAt(10, 2))
        expect(loaded.warnings[0], `byte ${i}`).toContain(`${newest} is unusable`)
      }
      await fsp.writeFile(path.join(dir, newest), good.subarray(0, good.length - 1))
      expect((await loadNewestSnapshot(dir, acceptAll)).warnings[0]).toContain(`${newest} is unusable`)
    })
  })
})

describe("recoverStorage", () => {
  const dirs = (root: string) => ({ walDir: path.join(root, "wal"), snapshotDir: path.join(root, "snap"), initialConfig: threeVoters, segmentBytes: 4096 })

  it("starts a new node from an empty log, then from snapshot + WAL entries after it", async () => {
    await withTempDir(async (root) => {
      const first = await recoverStorage(dirs(root))
      expect(first.storage.snapshot.meta).toEqual({ index: 0, term: 0, config: threeVoters })
      expect(first.storage.entries).toEqual([])
      await first.wal.save(hardState(1, 1, 5), entries(1, 8, 1))
      await saveSnapshot(dirs(root).snapshotDir, snapshotAt(5, 1))
      await first.wal.save(undefined, [], { index: logIndex(5), term: term(1), kind: "Compacted" })
      await first.wal.close()
      const second = await recoverStorage(dirs(root))
      expect(second.storage.snapshot).toEqual(snapshotAt(5, 1))
      expect(second.storage.entries).toEqual(entries(6, 8, 1))
      expect(second.storage.hardState).toEqual(hardState(1, 1, 5))
      await second.wal.close()
    })
  })

  it("ignores a snapshot whose WAL marker never became durable", async () => {
    await withTempDir(async (root) => {
      const { wal } = await recoverStorage(dirs(root))
      await wal.save(hardState(1, 1, 5), entries(1, 8, 1))
      await wal.close()
      await saveSnapshot(dirs(root).snapshotDir, snapshotAt(5, 1)) // crash before the marker save
      const again = await recoverStorage(dirs(root))
      expect(again.storage.snapshot.meta.index).toBe(0)
      expect(again.storage.entries).toEqual(entries(1, 8, 1))
      expect(again.warnings[0]).toContain("not covered by the WAL")
      await again.wal.close()
    })
  })

  it("falls back past a corrupt newest snapshot only while the WAL still covers the older one", async () => {
    await withTempDir(async (root) => {
      const { walDir, snapshotDir } = dirs(root)
      const { wal } = await recoverStorage(dirs(root))
      for (let i = 1; i <= 60; i++) await wal.save(hardState(1, 1, i), [entry(i, 1, "v".repeat(100))])
      for (const index of [20, 50]) {
        await saveSnapshot(snapshotDir, snapshotAt(index, 1))
        await wal.save(undefined, [], { index: logIndex(index), term: term(1), kind: "Compacted" })
      }
      await wal.releaseTo(logIndex(20)) // the node keeps the WAL back to its previous snapshot
      await wal.close()
      const newest = path.join(snapshotDir, "0000000000000001-0000000000000032.snap")
      const bytes = await fsp.readFile(newest)
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1
      await fsp.writeFile(newest, bytes)
      const fallback = await recoverStorage(dirs(root))
      expect(fallback.storage.snapshot).toEqual(snapshotAt(20, 1))
      expect(fallback.storage.entries.map((e) => e.index)).toEqual(Array.from({ length: 40 }, (_, k) => 21 + k))
      expect(fallback.warnings.some((w) => w.includes("unusable (checksum mismatch)"))).toBe(true)
      // Once the WAL is released up to the newest snapshot, falling back would leave a gap.
      expect(await fallback.wal.releaseTo(logIndex(50))).toBeGreaterThan(0)
      await fallback.wal.close()
      await expect(recoverStorage(dirs(root))).rejects.toThrow(RecoveryError)
      expect((await openWal(walDir, { segmentBytes: 4096 }).then(async (o) => { await o.wal.close(); return o.warnings }))).toEqual([])
    })
  })
})
