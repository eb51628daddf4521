// fast-check generators for every Raft message type, over the whole range of their fields
// (ids, terms and indexes up to 2^53 - 1, empty and non-empty data, joint configs).
import fc from "fast-check"
import type { Config, Entry, Message, NodeId } from "../../../src/raft/Types.ts"
import { logIndex, nodeId, term } from "../../../src/raft/Types.ts"

// Small numbers most of the time (the common case on the wire), the full range sometimes.
const safe = fc.oneof(fc.nat({ max: 300 }), fc.maxSafeNat())
const anyTerm = safe.map(term)
const anyIndex = safe.map(logIndex)
const anyId = safe.map(nodeId)
const ids = fc.array(anyId, { maxLength: 5 }) as fc.Arbitrary<NodeId[]>

export const arbitraryConfig: fc.Arbitrary<Config> = fc.record({ voters: ids, votersOutgoing: ids, learners: ids })

export const arbitraryEntry: fc.Arbitrary<Entry> = fc.record({
  term: anyTerm,
  index: anyIndex,
  type: fc.constantFrom("Normal" as const, "Config" as const),
  data: fc.uint8Array({ maxLength: 64 }),
  config: fc.option(arbitraryConfig, { nil: undefined }),
})

const base = { from: anyId, to: anyId, term: anyTerm }

export const arbitraryMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant("RequestVoteRequest" as const), ...base, preVote: fc.boolean(),
    lastLogIndex: anyIndex, lastLogTerm: anyTerm, leaderTransfer: fc.boolean(),
  }),
  fc.record({ type: fc.constant("RequestVoteResponse" as const), ...base, preVote: fc.boolean(), voteGranted: fc.boolean() }),
  fc.record({
    type: fc.constant("AppendEntriesRequest" as const), ...base, prevLogIndex: anyIndex, prevLogTerm: anyTerm,
    entries: fc.array(arbitraryEntry, { maxLength: 6 }), commitIndex: anyIndex,
  }),
  fc.record({
    type: fc.constant("AppendEntriesResponse" as const), ...base, success: fc.boolean(),
    matchIndex: anyIndex, hintIndex: anyIndex,
  }),
  fc.record({ type: fc.constant("HeartbeatRequest" as const), ...base, commitIndex: anyIndex, context: safe }),
  fc.record({ type: fc.constant("HeartbeatResponse" as const), ...base, context: safe }),
  fc.record({
    type: fc.constant("InstallSnapshotRequest" as const), ...base,
    snapshot: fc.record({
      meta: fc.record({ index: anyIndex, term: anyTerm, config: arbitraryConfig }),
      data: fc.uint8Array({ maxLength: 200 }),
    }),
  }),
  fc.record({ type: fc.constant("TimeoutNowRequest" as const), ...base }),
)

/** One message of each type, with the given ends, for exchanges between real transports. */
export function sampleOfEveryType(from: NodeId, to: NodeId, seed: number): Message[] {
  const byType = new Map<string, Message>()
  for (const m of fc.sample(arbitraryMessage, { seed, numRuns: 400 })) {
    if (!byType.has(m.type)) byType.set(m.type, { ...m, from, to })
  }
  return [...byType.values()]
}
