// The simulator catches planted bugs (its teeth): core bugs (src/raft/Bugs.ts) and a node-loop
// bug (src/server/NodeTrace.ts), each found by searching a bounded range of seeds. Runs keep
// going past the first failure (keepGoing), so that the damage reaches the clients: the tests
// ask for an acknowledged write lost or a non-linearizable history, not only an assertion.
// The cores' O(n) invariant checks are off here, so that it is the clients who notice.
import { describe, expect, it } from "vitest"
import type { FailureKind } from "./Checks.ts"
import { describeResult } from "./Report.ts"
import { simulate, type SimOptions, type SimResult } from "./Simulation.ts"

const SEEDS_MAX = 40
const STEPS = 8000
const CLIENT_VISIBLE: ReadonlyArray<FailureKind> = ["lostWrite", "linearizability"]


interface PlantedBug {
  readonly bug: string
  /** A crash weight above the drawn one: unsynced writes are lost only across restarts. */
  readonly crashWeight?: number
  /** What the clients must see on the failing seed. */
  readonly expected: ReadonlyArray<FailureKind>
}

const PLANTED: ReadonlyArray<PlantedBug> = [
  // Node loop: a Ready that must be synced is only written; a crash loses acknowledged entries.
  { bug: "SaveWithoutSync", crashWeight: 4, expected: ["lostWrite"] },
  // Core: votes go to candidates with stale logs; a leader without a committed entry overwrites it.
  { bug: "VoteWithoutLogCheck", expected: ["linearizability"] },
  // Core: a new leader serves reads before it knows its predecessor's commit index (stale read).
  { bug: "ReadIndexBeforeOwnTermCommit", expected: ["linearizability"] },
]

function options(planted: PlantedBug, seed: number): SimOptions {
  return {
    seed, steps: STEPS, nodes: 3, bug: planted.bug, keepGoing: true, verify: false,
    ...(planted.crashWeight === undefined ? {} : { crashWeight: planted.crashWeight }),
  }
}

/** The first seed (from 1) on which the bug reaches the clients as expected, if any. */
async function findFailingSeed(planted: PlantedBug): Promise<SimResult | undefined> {
  for (let seed = 1; seed <= SEEDS_MAX; seed++) {
    const result = await simulate(options(planted, seed))
    if (result.failures.some((failure) => planted.expected.includes(failure.kind))) return result
  }
  return undefined
}

describe("the simulator catches planted bugs", () => {
  for (const planted of PLANTED) {
    it(`${planted.bug}: ${planted.expected.join(" or ")} within ${SEEDS_MAX} seeds`, async () => {
      const result = await findFailingSeed(planted)
      expect(result, `no seed in 1..${SEEDS_MAX} showed ${planted.bug}`).toBeDefined()
      const kinds = result!.failures.map((failure) => failure.kind)
      console.log(`${planted.bug}: found on seed ${result!.options.seed} (failures: ${kinds.join(", ")})`)
      console.log(describeResult(result!, true))
      // Replaying the failing seed fails the same way.
      const again = await simulate(options(planted, result!.options.seed))
      expect(again.eventHash).toBe(result!.eventHash)
      expect(again.failures.map((failure) => failure.kind)).toEqual(kinds)
      expect(kinds.some((kind) => CLIENT_VISIBLE.includes(kind))).toBe(true)
    })
  }

  it("without a bug the same kind of run passes", async () => {
    for (const planted of PLANTED) {
      const { bug: _bug, ...withoutBug } = options(planted, 1)
      const result = await simulate(withoutBug)
      expect(result.failures).toEqual([])
    }
  })
})
