import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import type { NodeId } from "../../src/raft/Types.ts"
import { type Action, applyAction } from "./Actions.ts"
import { boundSets, runs } from "./Bounds.ts"
import { canonicalizerFor, explore, initialState, modelContext } from "./Explorer.ts"
import type { ModelState } from "./ModelState.ts"

/** Fewest distinct states each CI run must reach: a guard against a search that stops early. */
const minimumDistinct: Readonly<Record<string, number>> = {
  ci: 500_000,
  "ci-quorum": 400_000,
  "ci-plain": 300_000,
  "ci-heartbeat": 300_000,
  joint: 300_000,
  promote: 100_000,
  snapshot: 400_000,
}

describe("the clean core on the CI bounds", () => {
  for (const bounds of boundSets.ci!) {
    it(`${bounds.name}: explores the whole space without a violation`, () => {
      const result = explore({ bounds })
      expect(result.counterexample?.violation, bounds.name).toBeUndefined()
      expect(result.violations).toBe(0)
      expect(result.complete).toBe(true)
      expect(result.distinct).toBeGreaterThan(minimumDistinct[bounds.name] ?? 1)
    })
  }
})

const id = (n: number): NodeId => n as NodeId
const context = modelContext(runs["ci-plain"])
const canonical = canonicalizerFor(runs["ci-plain"])

function after(...actions: Action[]): ModelState {
  let state = initialState(context)
  for (const action of actions) state = applyAction(state, action, context)
  return state
}

const sameState = (a: ModelState, b: ModelState): boolean => {
  const fa = canonical.fingerprint(a)
  const fb = canonical.fingerprint(b)
  return fa.hi === fb.hi && fa.lo === fb.lo
}

describe("canonical keys and fingerprints", () => {
  it("agree for states built the same way, and ignore the order of messages in flight", () => {
    const a = after({ kind: "Hup", server: id(1) })
    const b = after({ kind: "Hup", server: id(1) })
    expect(canonical.stateKey(a)).toBe(canonical.stateKey(b))
    expect(sameState(a, b)).toBe(true)
    const reordered: ModelState = {
      ...b,
      cluster: { ...b.cluster, network: b.cluster.network.slice().reverse() },
    }
    expect(b.cluster.network.length).toBe(2)
    expect(canonical.stateKey(reordered)).toBe(canonical.stateKey(a))
    expect(sameState(reordered, a)).toBe(true)
  })

  it("tell apart states that differ", () => {
    const hup1 = after({ kind: "Hup", server: id(1) })
    const distinct = [
      after(),
      hup1,
      after({ kind: "Hup", server: id(1) }, { kind: "Drop", index: 0 }),
      after({ kind: "Hup", server: id(1) }, { kind: "Deliver", index: 0 }),
      after({ kind: "Hup", server: id(1) }, { kind: "Duplicate", index: 0 }),
      after({ kind: "Hup", server: id(1) }, { kind: "Restart", server: id(1) }),
      after({ kind: "Hup", server: id(1) }, { kind: "Hup", server: id(1) }),
    ]
    const keys = new Set(distinct.map((s) => canonical.stateKey(s)))
    const prints = new Set(distinct.map((s) => JSON.stringify(canonical.fingerprint(s))))
    expect(keys.size).toBe(distinct.length)
    expect(prints.size).toBe(distinct.length)
  })

  it("identify states that differ only by renaming servers", () => {
    const byOne = after({ kind: "Hup", server: id(1) }, { kind: "Deliver", index: 0 })
    const byThree = after({ kind: "Hup", server: id(3) }, { kind: "Deliver", index: 1 })
    expect(canonical.stateKey(byOne)).not.toBe(canonical.stateKey(byThree))
    expect(sameState(byOne, byThree)).toBe(true)
    const noSymmetry = canonicalizerFor(runs["ci-plain"], false)
    expect(noSymmetry.fingerprint(byOne)).not.toEqual(noSymmetry.fingerprint(byThree))
  })

  it("see the lease and what a restart loses", () => {
    const elected = [
      { kind: "Hup", server: id(1) },
      { kind: "Deliver", index: 0 },
      { kind: "Drop", index: 0 },
      { kind: "Deliver", index: 0 },
    ] as const
    const leader = after(...elected)
    expect(leader.cluster.servers.get(id(1))!.raft.role).toBe("Leader")
    const followed = after(...elected, { kind: "Deliver", index: 0 })
    expect(followed.cluster.servers.get(id(2))!.raft.leaderId).toBe(1)
    const lapse = { kind: "ExpireLease", server: id(2) } as const
    const lapsed = after(...elected, { kind: "Deliver", index: 0 }, lapse)
    expect(sameState(followed, lapsed)).toBe(false)
    const restarted = after(...elected, { kind: "Restart", server: id(1) })
    expect(restarted.cluster.servers.get(id(1))!.raft.role).toBe("Follower")
    expect(sameState(leader, restarted)).toBe(false)
  })
})

describe("npm run model", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["test/model/cli.ts", ...args], { encoding: "utf8" })

  it("lists the bug zoo and refuses bad flags", () => {
    const list = cli("--list-bugs")
    expect(list.status).toBe(0)
    expect(list.stdout).toContain("CommitOldTermEntries")
    expect(cli("--bug", "NoSuchBug").status).toBe(2)
    expect(cli("--max-term", "many").status).toBe(2)
    expect(cli("--frobnicate").status).toBe(2)
  })

  it("prints a counterexample table and exits 1 for a zoo bug", () => {
    const run = cli("--bug", "DoubleVote")
    expect(run.status).toBe(1)
    expect(run.stdout).toMatch(/step \| server \| action/)
    expect(run.stdout).toMatch(/^model: states=\d+ distinct=\d+ depth=\d+ violations=1 seconds=/m)
  })
})
