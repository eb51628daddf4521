// The simulator's own parts, checked on their own: the event order, the PRNG, and the disk's
// durability rules (what a crash keeps is what was synced, plus a prefix of the rest).
import { describe, expect, it } from "vitest"
import type { Config, Entry, LogIndex, NodeId, Term } from "../../src/raft/Types.ts"
import { zeroFaultCounts } from "./FaultCounts.ts"
import { Prng } from "./Prng.ts"
import { Scheduler, settle } from "./Scheduler.ts"
import { SimDisk } from "./SimDisk.ts"

const config: Config = { voters: [1, 2, 3] as NodeId[], votersOutgoing: [], learners: [] }
const entry = (index: number, term: number): Entry =>
  ({ index: index as LogIndex, term: term as Term, type: "Normal", data: new Uint8Array([index]), config: undefined })
const hardState = (term: number, commit: number) =>
  ({ currentTerm: term as Term, votedFor: 1 as NodeId, commitIndex: commit as LogIndex })

function newDisk(seed: number): { scheduler: Scheduler; disk: SimDisk } {
  const scheduler = new Scheduler()
  const disk = new SimDisk(scheduler, new Prng(seed), {
    fsyncMsMin: 1, fsyncMsMax: 5, slowFsyncProbability: 0, slowFsyncMsMax: 5,
  }, zeroFaultCounts(), config, "1")
  return { scheduler, disk }
}

async function drain(scheduler: Scheduler): Promise<void> {
  for (let k = 0; k < 1000 && scheduler.runNext(); k++) await settle()
}

describe("Scheduler", () => {
  it("runs events by time, and events at the same time in scheduling order", () => {
    const scheduler = new Scheduler()
    const order: Array<string> = []
    scheduler.after(5, "c", () => order.push("c"))
    scheduler.after(1, "a", () => order.push("a"))
    scheduler.after(5, "d", () => order.push("d"))
    scheduler.after(1, "b", () => scheduler.after(0, "b2", () => order.push("b2")))
    while (scheduler.runNext());
    expect(order).toEqual(["a", "b2", "c", "d"])
    expect(scheduler.nowMs).toBe(5)
  })
})

describe("Prng", () => {
  it("is a function of its seed and stays in bounds", () => {
    const a = new Prng(7)
    const b = new Prng(7)
    const draws = Array.from({ length: 1000 }, () => a.between(3, 9))
    expect(draws).toEqual(Array.from({ length: 1000 }, () => b.between(3, 9)))
    expect(Math.min(...draws)).toBe(3)
    expect(Math.max(...draws)).toBe(9)
    expect(new Prng(8).nextU32()).not.toBe(new Prng(7).nextU32())
  })
})

describe("SimDisk", () => {
  it("keeps synced writes across a crash, and of unsynced ones at most a prefix", async () => {
    const kept = new Set<number>()
    for (let seed = 1; seed <= 40; seed++) {
      const { scheduler, disk } = newDisk(seed)
      const storage = disk.open((run) => run())
      const synced = storage.save(hardState(1, 0), [entry(1, 1), entry(2, 1)], true)
      await drain(scheduler)
      await synced
      void storage.save(undefined, [entry(3, 1)], false)
      void storage.save(hardState(1, 2), [entry(4, 1)], false)
      disk.crash()
      const recovered = disk.recover()
      const indexes = recovered.entries.map((e) => e.index)
      expect(indexes.slice(0, 2)).toEqual([1, 2])
      expect([[1, 2], [1, 2, 3], [1, 2, 3, 4]]).toContainEqual(indexes)
      expect(recovered.hardState.currentTerm).toBe(1)
      kept.add(indexes.length)
    }
    // Over 40 seeds both extremes happen: everything unsynced lost, and all of it kept.
    expect(kept).toEqual(new Set([2, 3, 4]))
  })

  it("loses an fsync that had not completed when the node crashed", async () => {
    const { scheduler, disk } = newDisk(1)
    const storage = disk.open((run) => run())
    let resolved = false
    void storage.save(hardState(1, 0), [entry(1, 1)], true).then(() => (resolved = true))
    disk.crash()
    await drain(scheduler)
    expect(resolved).toBe(false)
    // Lost, or kept as part of the volatile prefix: never half a save.
    expect([[], [1]]).toContainEqual(disk.recover().entries.map((e) => e.index))
  })

  it("replays as the WAL does: later entries replace a suffix, snapshots replace or compact the log", async () => {
    const { scheduler, disk } = newDisk(3)
    const storage = disk.open((run) => run())
    const writes = [
      storage.save(hardState(1, 0), [entry(1, 1), entry(2, 1), entry(3, 1)], true),
      storage.save(hardState(2, 1), [entry(2, 2)], true),
      storage.saveSnapshot({ meta: { index: 1 as LogIndex, term: 1 as Term, config }, data: new Uint8Array([9]) }, false),
    ]
    await drain(scheduler)
    await Promise.all(writes)
    const compacted = disk.recover()
    expect(compacted.snapshot.meta.index).toBe(1)
    expect(compacted.entries.map((e) => [e.index, e.term])).toEqual([[2, 2]])
    const snapshot = { meta: { index: 5 as LogIndex, term: 2 as Term, config }, data: new Uint8Array([7]) }
    const installed = storage.saveSnapshot(snapshot, true)
    await drain(scheduler)
    await installed
    const after = disk.recover()
    expect(after.snapshot.meta.index).toBe(5)
    expect(after.entries).toEqual([])
    expect(after.hardState.commitIndex).toBe(5) // a snapshot holds committed entries
  })
})
