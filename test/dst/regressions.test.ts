// Seeds on which the simulator found bugs in verikv, kept as named tests (as TigerBeetle keeps
// its VOPR seeds). Each failed before its fix.
import { expect, it } from "vitest"
import { simulate } from "./Simulation.ts"

it("seeds 5258 and 5259 (5 members): an AppendEntries and an InstallSnapshot batched in one turn", async () => {
  // RaftNode merged the turn's Readies into one that installed the snapshot and then applied
  // entries the snapshot already covered: "apply: entries out of order", and the member stopped.
  for (const seed of [5258, 5259]) {
    const result = await simulate({ seed, steps: 20_000, nodes: 5, verify: false })
    expect(result.failure).toBeUndefined()
    expect(result.faults.snapshotInstall).toBeGreaterThan(0)
    // The leaders sent those snapshots read back from their disks (RaftNode SNAPSHOT_BYTES_ON_DISK).
    expect(result.faults.snapshotReadBack).toBeGreaterThan(0)
  }
})
