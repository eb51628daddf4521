// Joint consensus: a decision needs a majority of the incoming AND of the outgoing voters.
import type { BugName } from "../Bugs.ts"
import type { Config, LogIndex, NodeId } from "../Types.ts"
import { majorityCommittedIndex, majorityVoteResult, type VoteResult } from "./Majority.ts"

export function jointVoteResult(
  config: Config,
  vote: (id: NodeId) => boolean | undefined,
  bugs: ReadonlySet<BugName> | undefined,
): VoteResult {
  const incoming = majorityVoteResult(config.voters, vote)
  if (bugs?.has("JointSingleMajority") === true) return incoming
  const outgoing = majorityVoteResult(config.votersOutgoing, vote)
  if (incoming === outgoing) return incoming
  if (incoming === "Lost" || outgoing === "Lost") return "Lost"
  return "Pending"
}

export function jointCommittedIndex(
  config: Config,
  match: (id: NodeId) => LogIndex,
  bugs: ReadonlySet<BugName> | undefined,
): LogIndex {
  const incoming = majorityCommittedIndex(config.voters, match)
  if (bugs?.has("JointSingleMajority") === true) return incoming
  const outgoing = majorityCommittedIndex(config.votersOutgoing, match)
  return Math.min(incoming, outgoing) as LogIndex
}

/** Whether the set `ids` forms a quorum of `config` (both halves when joint). */
export function isQuorum(
  config: Config,
  ids: ReadonlySet<NodeId>,
  bugs: ReadonlySet<BugName> | undefined,
): boolean {
  return jointVoteResult(config, (id) => (ids.has(id) ? true : undefined), bugs) === "Won"
}
