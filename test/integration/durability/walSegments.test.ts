// A WAL that spans several 64 MiB segments under a real server: 1 MiB values overwrite four keys
// (compacted as they go, so snapshots stay small while the WAL grows by a segment every ~63
// puts). Snapshots release the covered segments; after kill -9 the server recovers across
// segments; damage inside a sealed segment refuses to start.
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { listSnapshots } from "../../../src/platform/snapshot/SnapshotStore.ts"
import { parseSegmentFileName } from "../../../src/platform/wal/SegmentName.ts"
import type { WireMessage } from "../../support/EtcdClient.ts"
import { withClients, withDataDir } from "./Harness.ts"
import { startServer, startServing, type RunningServer } from "./ServerProcess.ts"
import { flipByte, segmentFileNames, snapDir, walDir } from "./WalFiles.ts"

const keys = 4
const valueBytes = 1 << 20

/** Puts 1 MiB values, `keys` writers each owning one key; compacts after every round of puts. */
async function writeBigValues(server: RunningServer, latest: Map<string, Buffer>, puts: number): Promise<number> {
  return withClients(server, async (clients) => {
    let revision = 0
    for (let round = 0; round < puts / keys; round++) {
      await Promise.all(Array.from({ length: keys }, async (_, k) => {
        const key = `big/${k}`
        const value = randomBytes(valueBytes)
        const outcome = await clients[k]!.call("KV", "Put", { key: Buffer.from(key), value })
        expect(outcome.ok).toBe(true)
        if (!outcome.ok) return
        latest.set(key, value)
        revision = Math.max(revision, Number((outcome.response.header as WireMessage).revision))
      }))
      const compacted = await clients[0]!.call("KV", "Compact", { revision: String(revision) })
      expect(compacted.ok).toBe(true)
    }
    return revision
  })
}

async function expectLatest(server: RunningServer, latest: Map<string, Buffer>, revision: number): Promise<void> {
  await withClients(server, async ([client]) => {
    for (const [key, value] of latest) {
      const outcome = await client!.call("KV", "Range", { key: Buffer.from(key) })
      expect(outcome.ok).toBe(true)
      if (!outcome.ok) return
      const kvs = outcome.response.kvs as ReadonlyArray<WireMessage>
      expect(kvs.length, key).toBe(1)
      expect((kvs[0]!.value as Buffer).equals(value), key).toBe(true)
      expect(Number((outcome.response.header as WireMessage).revision)).toBe(revision)
    }
  })
}

describe("a WAL of several segments", () => {
  it("releases segments covered by the previous snapshot and recovers after kill -9", async () => {
    await withDataDir(async (dataDir) => {
      // A snapshot every 100 entries, more than a 64 MiB segment holds (~63 puts): so keeping
      // the log back to the previous snapshot really keeps a segment that releasing up to the
      // newest would delete.
      const flags = ["--snapshot-count=100"]
      const puts = 240
      const latest = new Map<string, Buffer>()
      const first = await startServing(dataDir, flags)
      const revision = await writeBigValues(first, latest, puts)
      expect(revision).toBe(1 + puts)
      await first.kill9()

      const segments = await segmentFileNames(dataDir)
      const sequences = segments.map((name) => parseSegmentFileName(name)!.segmentSeq)
      const snapshots = await listSnapshots(snapDir(dataDir))
      console.log(`[segments] after ${puts} MiB of puts: ${segments.join(", ")}; snapshots ` +
        snapshots.map((s) => s.fileName).join(", "))
      // More than 240 MiB went through the WAL (four or more segments were written) ...
      expect(sequences.at(-1)!).toBeGreaterThanOrEqual(3)
      // ... but the ones wholly before the previous snapshot were released, and no more.
      expect(sequences[0]!).toBeGreaterThan(0)
      expect(parseSegmentFileName(segments[0]!)!.firstIndex).toBeLessThanOrEqual(snapshots[1]!.index + 1)
      expect(segments.length).toBeLessThanOrEqual(3)
      expect(snapshots.length).toBeGreaterThanOrEqual(2)

      const recovered = await startServing(dataDir, flags)
      console.log(`[segments] recovered from ${segments.length} segment(s) and snapshot ` +
        `${snapshots[0]!.fileName}: serving after ${recovered.startMs.toFixed(0)} ms, recovery ${recovered.recoveryMs} ms`)
      await expectLatest(recovered, latest, revision)
      await recovered.kill9()

      // The newest snapshot damaged: the WAL still reaches back to the previous one.
      await flipByte(path.join(snapDir(dataDir), snapshots[0]!.fileName), 100)
      const fellBack = await startServing(dataDir, flags)
      expect(fellBack.log()).toContain(`snapshot: ${snapshots[0]!.fileName} is unusable`)
      console.log(`[segments] fell back to snapshot ${snapshots[1]!.fileName}: recovery ${fellBack.recoveryMs} ms`)
      await expectLatest(fellBack, latest, revision)
      await fellBack.kill9()
    })
  })

  it("recovers across sealed segments; a damaged byte in a sealed segment refuses to start", async () => {
    await withDataDir(async (dataDir) => {
      const latest = new Map<string, Buffer>()
      const first = await startServing(dataDir)
      const revision = await writeBigValues(first, latest, 100)
      await first.kill9()
      const segments = await segmentFileNames(dataDir)
      expect(segments.length).toBeGreaterThanOrEqual(2)

      const recovered = await startServing(dataDir)
      console.log(`[segments] recovered across ${segments.length} segments (no snapshot): serving after ` +
        `${recovered.startMs.toFixed(0)} ms, recovery ${recovered.recoveryMs} ms`)
      await expectLatest(recovered, latest, revision)
      await recovered.kill9()

      // A byte in the middle of a sealed segment: acknowledged data, never a torn write.
      const sealed = path.join(walDir(dataDir), segments[0]!)
      const at = 4096 * 1024 + 123
      await flipByte(sealed, at)
      const outcome = await startServer(dataDir)
      expect(outcome.kind).toBe("Exited")
      if (outcome.kind !== "Exited") throw new Error("unreachable")
      expect(outcome.exit.code).not.toBe(0)
      expect(outcome.exit.code).not.toBeNull()
      const refusal = outcome.log.split("\n").find((line) => line.includes("refusing to start"))
      console.log(`[segments] ${refusal}`)
      expect(refusal).toMatch(new RegExp(`wal: ${segments[0]!.replace(".", "\\.")}: .* at byte offset \\d+; refusing to start`))
      await flipByte(sealed, at)
      const restored = await startServing(dataDir)
      await expectLatest(restored, latest, revision)
      await restored.kill9()
    })
  })
})
