// Majority decisions over one set of voters: the vote outcome and the committed index.
import type { LogIndex, NodeId } from "../Types.ts"

export type VoteResult = "Won" | "Lost" | "Pending"

/** The outcome of an election given each voter's answer (undefined: no answer yet). */
export function majorityVoteResult(
  voters: ReadonlyArray<NodeId>,
  vote: (id: NodeId) => boolean | undefined,
): VoteResult {
  if (voters.length === 0) return "Won" // an empty half of a joint config agrees with anything
  let granted = 0
  let missing = 0
  for (const id of voters) {
    const v = vote(id)
    if (v === true) granted += 1
    else if (v === undefined) missing += 1
  }
  const quorum = Math.floor(voters.length / 2) + 1
  if (granted >= quorum) return "Won"
  if (granted + missing >= quorum) return "Pending"
  return "Lost"
}

/** The highest index that a majority of voters hold (each voter's matchIndex from `match`). */
export function majorityCommittedIndex(
  voters: ReadonlyArray<NodeId>,
  match: (id: NodeId) => LogIndex,
): LogIndex {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER as LogIndex
  const indexes = voters.map(match).sort((a, b) => b - a)
  const quorum = Math.floor(voters.length / 2) + 1
  return indexes[quorum - 1] as LogIndex
}
