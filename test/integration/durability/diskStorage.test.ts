// DiskStorage (the server's WAL + snapshot files) in-process, with small WAL segments so that
// releasing covered segments actually happens: old segments go, yet one older snapshot stays
// usable, so a damaged newest snapshot falls back to it plus the WAL instead of losing the node.
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { openDisk, type RecoveredDisk } from "../../../src/server/DiskStorage.ts"
import { listSnapshots } from "../../../src/platform/snapshot/SnapshotStore.ts"
import type { Config, Entry, HardState, Snapshot } from "../../../src/raft/Types.ts"
import { logIndex, nodeId, term } from "../../../src/raft/Types.ts"

const segmentBytes = 16 * 1024
const config: Config = { voters: [nodeId(1)], votersOutgoing: [], learners: [] }
const encoder = new TextEncoder()

/** The state machine here: the list of applied entry indexes, as text. */
const stateAt = (index: number): Uint8Array =>
  encoder.encode(Array.from({ length: index }, (_, k) => k + 1).join(","))

const entryAt = (index: number): Entry => ({
  term: term(1), index: logIndex(index), type: "Normal",
  data: encoder.encode(`value-${index}-${"x".repeat(200)}`), config: undefined,
})
const hardStateAt = (commit: number): HardState =>
  ({ currentTerm: term(1), votedFor: nodeId(1), commitIndex: logIndex(commit) })
const snapshotAt = (index: number): Snapshot =>
  ({ meta: { index: logIndex(index), term: term(1), config }, data: stateAt(index) })

async function withDataDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "verikv-disk-"))
  try {
    await body(dir)
  } finally {
    await fsp.rm(dir, { recursive: true, force: true })
  }
}

async function open(dir: string, warnings: string[] = []): Promise<RecoveredDisk> {
  return openDisk(dir, config, (m) => warnings.push(m), { segmentBytes })
}

/** Writes entries 1..last, one save each, with a snapshot after every `every` entries. */
async function writeLog(dir: string, last: number, every: number): Promise<void> {
  const { storage } = await open(dir)
  for (let i = 1; i <= last; i++) {
    await storage.save(hardStateAt(i), [entryAt(i)], true)
    if (i % every === 0) await storage.saveSnapshot(snapshotAt(i), false)
  }
  await storage.close()
}

const walFiles = async (dir: string): Promise<string[]> =>
  (await fsp.readdir(path.join(dir, "member", "wal"))).filter((n) => n.endsWith(".wal")).sort()
const snapDir = (dir: string): string => path.join(dir, "member", "snap")

async function damageByte(file: string, at: number): Promise<void> {
  const bytes = await fsp.readFile(file)
  bytes[at] = bytes[at]! ^ 0x01
  await fsp.writeFile(file, bytes)
}

/** The recovered state is the snapshot's plus the replayed entries: it must be 1..last. */
function expectComplete(disk: RecoveredDisk, last: number, snapshotIndex: number): void {
  const { snapshot, entries, hardState } = disk.raftStorage
  expect(snapshot.meta.index).toBe(snapshotIndex)
  expect(new TextDecoder().decode(snapshot.data)).toBe(new TextDecoder().decode(stateAt(snapshotIndex)))
  expect(entries.map((e) => e.index)).toEqual(Array.from({ length: last - snapshotIndex }, (_, k) => snapshotIndex + k + 1))
  expect(entries.map((e) => new TextDecoder().decode(e.data))).toEqual(entries.map((e) => new TextDecoder().decode(entryAt(e.index).data)))
  expect(hardState.commitIndex).toBe(last)
}

describe("DiskStorage: segment release and snapshot fallback", () => {
  it("releases covered WAL segments but keeps the log back to the previous snapshot", async () => {
    await withDataDir(async (dir) => {
      // About 45 entries fit in a 16 KiB segment: 600 entries span more than a dozen segments.
      await writeLog(dir, 600, 100)
      const segments = await walFiles(dir)
      const firstIndex = Number.parseInt(segments[0]!.slice(17, 33), 16)
      expect(segments.length).toBeLessThan(6)
      // Released up to the previous snapshot (500), not the newest (600): one fallback remains.
      expect(firstIndex).toBeLessThanOrEqual(501)
      expect(firstIndex).toBeGreaterThan(400)
      expect((await listSnapshots(snapDir(dir))).map((s) => s.index)).toEqual([600, 500, 400, 300, 200])
      expectComplete(await open(dir), 600, 600)
    })
  })

  it("falls back past a damaged newest snapshot to the previous one plus the WAL", async () => {
    await withDataDir(async (dir) => {
      await writeLog(dir, 630, 100)
      const [newest] = await listSnapshots(snapDir(dir))
      await damageByte(path.join(snapDir(dir), newest!.fileName), 100)
      const warnings: string[] = []
      const disk = await open(dir, warnings)
      expectComplete(disk, 630, 500)
      expect(warnings.join("\n")).toContain(`${newest!.fileName} is unusable (checksum mismatch)`)
      await disk.storage.close()
    })
  })

  it("refuses to start when the snapshots the WAL still reaches are all damaged", async () => {
    await withDataDir(async (dir) => {
      await writeLog(dir, 630, 100)
      const [newest, previous] = await listSnapshots(snapDir(dir))
      await damageByte(path.join(snapDir(dir), newest!.fileName), 100)
      await damageByte(path.join(snapDir(dir), previous!.fileName), 100)
      // Snapshot 400 is intact but the WAL no longer holds entries 401..500: starting from it
      // would silently skip them.
      await expect(open(dir)).rejects.toThrow(/refusing to start/)
    })
  })

  it("ignores a snapshot whose WAL marker never became durable", async () => {
    await withDataDir(async (dir) => {
      await writeLog(dir, 250, 100)
      // A crash after the snapshot file was renamed into place but before its marker was saved.
      const { saveSnapshot } = await import("../../../src/platform/snapshot/SnapshotStore.ts")
      await saveSnapshot(snapDir(dir), snapshotAt(250))
      const warnings: string[] = []
      const disk = await open(dir, warnings)
      expectComplete(disk, 250, 200)
      expect(warnings.join("\n")).toContain("0000000000000001-00000000000000fa.snap is not covered by the WAL")
      await disk.storage.close()
    })
  })

  it("a new data dir starts fresh; reopening after writes does not", async () => {
    await withDataDir(async (dir) => {
      const first = await open(dir)
      expect(first.fresh).toBe(true)
      await first.storage.save(hardStateAt(1), [entryAt(1)], true)
      await first.storage.close()
      const second = await open(dir)
      expect(second.fresh).toBe(false)
      expectComplete(second, 1, 0)
      await second.storage.close()
    })
  })
})
