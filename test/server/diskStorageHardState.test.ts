// A commit-only hard state is deferred to the next write; it must never be written after a newer
// hard state (a term change), which the WAL refuses as "hard state term decreases". This is the
// sequence a follower went through when its leader was killed (found in a 3-member run).
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { expect, it } from "vitest"
import { openDisk } from "../../src/server/DiskStorage.ts"
import { logIndex, nodeId, term, type Entry, type HardState } from "../../src/raft/Types.ts"

const entry = (index: number, t: number): Entry =>
  ({ term: term(t), index: logIndex(index), type: "Normal", data: new Uint8Array([index]), config: undefined })
const hardState = (t: number, vote: number, commit: number): HardState =>
  ({ currentTerm: term(t), votedFor: nodeId(vote), commitIndex: logIndex(commit) })

it("a deferred commit-only hard state is dropped once a newer hard state is written", async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "verikv-hs-"))
  try {
    const config = { voters: [nodeId(1), nodeId(2), nodeId(3)], votersOutgoing: [], learners: [] }
    const disk = await openDisk(dir, config, () => {})
    await disk.storage.save(hardState(1, 1, 0), [entry(1, 1)], true)
    await disk.storage.save(hardState(1, 1, 1), [], false) // commit moved: deferred
    await disk.storage.save(hardState(2, 2, 1), [], true) // a new term, synced
    await disk.storage.save(undefined, [entry(2, 2)], true) // must not resurrect term 1
    await disk.storage.close()
    const reopened = await openDisk(dir, config, () => {})
    expect(reopened.raftStorage.hardState).toEqual(hardState(2, 2, 1))
    expect(reopened.raftStorage.entries.map((e) => e.index)).toEqual([1, 2])
    await reopened.storage.close()
  } finally {
    await fsp.rm(dir, { recursive: true, force: true })
  }
})
