// The quorum math cross-checked against a naive definition over every subset.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { isQuorum, jointCommittedIndex, jointVoteResult } from "../../src/raft/quorum/Joint.ts"
import type { Config, LogIndex, NodeId } from "../../src/raft/Types.ts"

const ids = fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 })
const sorted = (xs: ReadonlyArray<number>): NodeId[] => [...xs].sort((a, b) => a - b) as NodeId[]
const config: fc.Arbitrary<Config> = fc
  .record({ voters: ids, votersOutgoing: fc.oneof(fc.constant<number[]>([]), ids) })
  .map((c) => ({ voters: sorted(c.voters), votersOutgoing: sorted(c.votersOutgoing), learners: [] }))

const majority = (voters: ReadonlyArray<NodeId>, has: (id: NodeId) => boolean): boolean =>
  voters.length === 0 || voters.filter(has).length * 2 > voters.length
const naiveQuorum = (c: Config, set: ReadonlySet<NodeId>): boolean =>
  majority(c.voters, (id) => set.has(id)) && majority(c.votersOutgoing, (id) => set.has(id))

describe("joint quorum", () => {
  it("isQuorum agrees with the definition", () => {
    fc.assert(fc.property(config, fc.uniqueArray(fc.integer({ min: 1, max: 7 })), (c, s) => {
      const set = new Set(s as NodeId[])
      expect(isQuorum(c, set, undefined)).toBe(naiveQuorum(c, set))
    }))
  })

  it("the committed index is the highest index some quorum holds", () => {
    fc.assert(fc.property(config, fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 }), (c, m) => {
      const match = (id: NodeId) => m[id]! as LogIndex
      const got = jointCommittedIndex(c, match, undefined)
      let want = 0
      for (let n = 1; n <= 9; n++) {
        const holders = new Set(([1, 2, 3, 4, 5, 6, 7] as NodeId[]).filter((id) => match(id) >= n))
        if (naiveQuorum(c, holders)) want = n
      }
      expect(Math.min(got, 9)).toBe(want)
    }))
  })

  it("an election is lost once no set of remaining answers can win", () => {
    fc.assert(fc.property(config, fc.array(fc.constantFrom(true, false, undefined), { minLength: 8, maxLength: 8 }), (c, v) => {
      const vote = (id: NodeId) => v[id]
      const result = jointVoteResult(c, vote, undefined)
      const granted = new Set(([1, 2, 3, 4, 5, 6, 7] as NodeId[]).filter((id) => vote(id) === true))
      const possible = new Set(([1, 2, 3, 4, 5, 6, 7] as NodeId[]).filter((id) => vote(id) !== false))
      const want = naiveQuorum(c, granted) ? "Won" : naiveQuorum(c, possible) ? "Pending" : "Lost"
      expect(result).toBe(want)
    }))
  })

  it("the JointSingleMajority bug ignores the outgoing voters", () => {
    const c: Config = { voters: [1] as NodeId[], votersOutgoing: [1, 2, 3] as NodeId[], learners: [] }
    const set = new Set([1] as NodeId[])
    expect(isQuorum(c, set, undefined)).toBe(false)
    expect(isQuorum(c, set, new Set(["JointSingleMajority"]))).toBe(true)
  })
})
