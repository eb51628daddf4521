// A damaged newest snapshot file: the server falls back to an older snapshot and replays the WAL
// from there (DiskStorage keeps the WAL back to the previous snapshot for this); with every
// snapshot damaged it replays the whole WAL when the WAL still reaches back to index 1. Where
// the WAL no longer reaches an intact snapshot it refuses to start (diskStorage.test.ts, which
// uses small WAL segments so that segments are released).
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { decodeSnapshotFile } from "../../../src/platform/snapshot/SnapshotFile.ts"
import { listSnapshots } from "../../../src/platform/snapshot/SnapshotStore.ts"
import { AckedWrites } from "./AckedWrites.ts"
import { describeRecovery, expectAllAcked, loadThenKill, withDataDir } from "./Harness.ts"
import { startServing } from "./ServerProcess.ts"
import { flipByte, segmentFileNames, snapDir } from "./WalFiles.ts"

const flags = ["--snapshot-count=500"]

describe("a damaged snapshot file", () => {
  it("falls back to an older snapshot plus the WAL, then to the whole WAL; nothing acknowledged is lost", async () => {
    await withDataDir(async (dataDir) => {
      const ledger = new AckedWrites()
      const first = await startServing(dataDir, flags)
      // 1200 puts or more: at least two snapshots at --snapshot-count=500.
      await loadThenKill(first, ledger, "load", 1000, 1200)
      const snapshots = await listSnapshots(snapDir(dataDir))
      expect(snapshots.length).toBeGreaterThanOrEqual(2)
      // The WAL still starts at index 1 (one 64 MiB segment), so every fallback has its log.
      expect(await segmentFileNames(dataDir)).toEqual(["0000000000000000-0000000000000001.wal"])
      const [newest, previous] = snapshots
      await flipByte(path.join(snapDir(dataDir), newest!.fileName), 200)

      const fellBack = await startServing(dataDir, flags)
      expect(fellBack.log()).toContain(`W | verikv: snapshot: ${newest!.fileName} is unusable (checksum mismatch); trying an older one`)
      const report = await expectAllAcked(fellBack, ledger)
      console.log(describeRecovery(`[snapshot ${newest!.fileName} damaged, from ${previous!.fileName}]`, fellBack, report, ledger))
      await fellBack.kill9()

      // Damage every intact file, not just the older ones: replaying the WAL from the older
      // snapshot may pass the snapshot threshold at the same index again and rewrite the newest
      // file whole.
      for (const snapshot of await listSnapshots(snapDir(dataDir))) {
        const file = path.join(snapDir(dataDir), snapshot.fileName)
        if (typeof decodeSnapshotFile(await fsp.readFile(file)) !== "string") await flipByte(file, 200)
      }
      const fromLog = await startServing(dataDir, flags)
      for (const snapshot of await listSnapshots(snapDir(dataDir))) {
        expect(fromLog.log()).toContain(`snapshot: ${snapshot.fileName} is unusable`)
      }
      const fromLogReport = await expectAllAcked(fromLog, ledger)
      console.log(describeRecovery("[every snapshot damaged, whole WAL replayed]", fromLog, fromLogReport, ledger))
      await fromLog.kill9()
    })
  })
})
