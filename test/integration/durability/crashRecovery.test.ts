// kill -9 in the middle of a concurrent write load, restart on the same data dir, and every
// acknowledged put must be there with its value; several rounds, with and without snapshots.
import { describe, expect, it } from "vitest"
import { decodeSnapshotFile } from "../../../src/platform/snapshot/SnapshotFile.ts"
import { AckedWrites } from "./AckedWrites.ts"
import { describeRecovery, expectAllAcked, loadThenKill, withDataDir } from "./Harness.ts"
import { startServing, type RunningServer } from "./ServerProcess.ts"
import { segmentFileNames, snapDir, snapshotFileNames } from "./WalFiles.ts"
import * as fsp from "node:fs/promises"
import * as path from "node:path"

/** SIGTERM runs the shutdown path to its end (the WAL flushed and closed) and exits by itself. */
async function expectCleanStop(server: RunningServer): Promise<void> {
  const exit = await server.terminate()
  expect(exit.signal).toBeNull()
  expect(server.log()).toMatch(/I \| verikv: stopped\n/)
}

/** When each round's kill lands after its load starts: spread over the 1.5-3 s range. */
const killSchedulesMs = [2900, 1700, 2300, 1500, 2600]

const cases = [
  { name: "WAL replay only (default --snapshot-count)", flags: [], kills: 3 },
  { name: "snapshot + WAL replay (--snapshot-count=500)", flags: ["--snapshot-count=500"], kills: 5 },
]

describe("kill -9 during a concurrent write load", () => {
  for (const { name, flags, kills } of cases) {
    it(`keeps every acknowledged write: ${name}, ${kills} kills`, async () => {
      await withDataDir(async (dataDir) => {
        const ledger = new AckedWrites()
        for (let round = 0; round <= kills; round++) {
          const server = await startServing(dataDir, flags)
          if (round > 0) {
            const report = await expectAllAcked(server, ledger)
            console.log(describeRecovery(`[${name}] after kill ${round}`, server, report, ledger))
          }
          if (round === kills) {
            // Last: a clean stop, and a restart from it.
            await expectCleanStop(server)
            const again = await startServing(dataDir, flags)
            const report = await expectAllAcked(again, ledger)
            console.log(describeRecovery(`[${name}] after a clean stop`, again, report, ledger))
            await expectCleanStop(again)
            break
          }
          // At least 600 puts a round: with --snapshot-count=500 every round takes a snapshot.
          const result = await loadThenKill(server, ledger, `r${round}`, killSchedulesMs[round]!, 600)
          console.log(`[${name}] round ${round + 1}: ${result.acked} puts acknowledged before kill -9`)
          const wal = await segmentFileNames(dataDir)
          const snaps = await snapshotFileNames(dataDir)
          console.log(`[${name}]   WAL segments ${wal.join(", ")}; snapshots ${snaps.length}`)
          expect(wal.length).toBeGreaterThan(0)
          if (flags.length > 0) {
            // Snapshots are taken, every one intact, and pruned to the keep count (5).
            expect(snaps.length).toBeGreaterThan(0)
            expect(snaps.length).toBeLessThanOrEqual(5)
            for (const snap of snaps) {
              expect(typeof decodeSnapshotFile(await fsp.readFile(path.join(snapDir(dataDir), snap)))).toBe("object")
            }
          }
        }
      })
    })
  }
})
