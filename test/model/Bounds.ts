// Named bounds for the model checker. A run fixes the cluster (servers, configuration, core
// options) and the bounds of one search; a bound set is a list of runs (`--bounds NAME`).
// Term, log length and messages in flight are state constraints: a state beyond them is checked
// but not expanded. The other bounds are budgets: how many steps of a kind one behaviour may take.
import type { ConfChange } from "../../src/raft/Api.ts"
import type { SafetyBugName } from "../../src/raft/Bugs.ts"
import type { Config, NodeId } from "../../src/raft/Types.ts"

export interface Bounds {
  readonly name: string
  /** Server ids; servers outside the initial configuration start as non-members. */
  readonly ids: ReadonlyArray<NodeId>
  readonly initialConfig: Config
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly appendEntriesCountMax: number
  readonly inflightCountMax: number
  /** State constraints. */
  readonly maxTerm: number
  readonly maxLog: number
  readonly maxMessages: number
  /** Budgets per behaviour. */
  readonly maxProposals: number
  readonly maxReads: number
  readonly maxRestarts: number
  readonly maxDuplicates: number
  readonly maxTransfers: number
  readonly maxCompactions: number
  readonly maxConfChanges: number
  /** Change sets ProposeConfChange may propose (empty: no membership changes). */
  readonly confChanges: ReadonlyArray<ReadonlyArray<ConfChange>>
  /** Beat (heartbeats) for leaders. */
  readonly heartbeats: boolean
  /** CheckQuorum as an action for leaders (steps down without a recently active quorum). */
  readonly checkQuorumAction: boolean
  /** ExpireLease: a follower's election timer passes without it campaigning. */
  readonly leaseExpiry: boolean
}

const ids3 = [1, 2, 3] as NodeId[]
const voters3: Config = { voters: ids3, votersOutgoing: [], learners: [] }

/** Voters {1,2,3} -> voters {1,2} with 3 demoted to learner, through a joint configuration. */
const demoteThree: ReadonlyArray<ConfChange> = [
  { type: "RemoveNode", id: 3 as NodeId },
  { type: "AddLearner", id: 3 as NodeId },
]

/** Voters {1,2,3} -> voters {1}: a joint configuration whose incoming majority ({1}) is not a
 * majority of the outgoing voters, which JointSingleMajority needs. */
const shrinkToOne: ReadonlyArray<ConfChange> = [
  { type: "AddLearner", id: 2 as NodeId },
  { type: "AddLearner", id: 3 as NodeId },
]

/** Voters {1,2} and learner 3 -> voters {1,2,3}, through a joint configuration. */
const promoteThree: ReadonlyArray<ConfChange> = [{ type: "AddVoter", id: 3 as NodeId }]
const voters2Learner3: Config = {
  voters: [1, 2] as NodeId[],
  votersOutgoing: [],
  learners: [3 as NodeId],
}

/** Everything off: the base the focused runs switch features on from. */
const lean: Bounds = {
  name: "lean",
  ids: ids3,
  initialConfig: voters3,
  preVote: false,
  checkQuorum: false,
  appendEntriesCountMax: 1,
  inflightCountMax: 1,
  maxTerm: 2,
  maxLog: 2,
  maxMessages: 2,
  maxProposals: 0,
  maxReads: 0,
  maxRestarts: 0,
  maxDuplicates: 0,
  maxTransfers: 0,
  maxCompactions: 0,
  maxConfChanges: 0,
  confChanges: [],
  heartbeats: false,
  checkQuorumAction: false,
  leaseExpiry: false,
}

const run = (name: string, changes: Partial<Bounds>): Bounds => ({ ...lean, ...changes, name })

/** The runs, by name. The first seven make up `ci`, the default of `npm run model`. */
export const runs = {
  /** Elections with PreVote and CheckQuorum leases (which lapse), ReadIndex, leader transfer. */
  ci: run("ci", {
    preVote: true, checkQuorum: true, leaseExpiry: true, maxReads: 1, maxTransfers: 1,
  }),
  /** Leaders stepping down by CheckQuorum (the code's own check of recent activity). */
  "ci-quorum": run("ci-quorum", {
    preVote: true, checkQuorum: true, leaseExpiry: true, checkQuorumAction: true,
  }),
  /** PreVote off: a client value replicated and committed, loss, duplication, a crash. */
  "ci-plain": run("ci-plain", { maxProposals: 1, maxRestarts: 1, maxDuplicates: 1 }),
  /** Heartbeats carrying the commit index and prompting resends after loss. */
  "ci-heartbeat": run("ci-heartbeat", { heartbeats: true, maxProposals: 1, maxDuplicates: 1 }),
  /** The joint configuration change {1,2,3} -> {1,2} (3 a learner), leaving it, a crash. */
  joint: run("joint", { maxLog: 3, maxRestarts: 1, maxConfChanges: 1, confChanges: [demoteThree] }),
  /** A learner promoted to voter through a joint configuration, a client value, a crash. */
  promote: run("promote", {
    initialConfig: voters2Learner3, maxLog: 3, maxProposals: 1, maxRestarts: 1,
    maxConfChanges: 1, confChanges: [promoteThree],
  }),
  /** Log compaction and InstallSnapshot to a follower that lags or gets a copy. */
  snapshot: run("snapshot", {
    maxTerm: 1, heartbeats: true, maxProposals: 1, maxDuplicates: 1, maxCompactions: 1,
  }),
  // ---- Focused runs for the bug zoo (see bugBounds) ----
  "vote-restart": run("vote-restart", { maxTerm: 1, maxRestarts: 1 }),
  "figure-8": run("figure-8", { maxTerm: 4 }),
  "stale-leader": run("stale-leader", { maxTerm: 3 }),
  replicate: run("replicate", { maxProposals: 1 }),
  pipeline: run("pipeline", {
    maxTerm: 1, maxLog: 3, maxMessages: 3, maxProposals: 2, maxDuplicates: 1, inflightCountMax: 2,
  }),
  "read-new-leader": run("read-new-leader", { heartbeats: true, maxReads: 1 }),
  "read-stale-leader": run("read-stale-leader", { maxReads: 2, maxMessages: 3 }),
  "joint-shrink": run("joint-shrink", { maxLog: 3, maxConfChanges: 1, confChanges: [shrinkToOne] }),
  "joint-twice": run("joint-twice", { maxLog: 3, maxConfChanges: 2, confChanges: [demoteThree] }),
} satisfies Record<string, Bounds>

export type RunName = keyof typeof runs

/** Every run on its own, then the sets of several runs (the `ci` set replaces the `ci` run). */
export const boundSets: Readonly<Record<string, ReadonlyArray<Bounds>>> = {
  ...Object.fromEntries(Object.values(runs).map((b) => [b.name, [b]])),
  ci: [
    runs.ci, runs["ci-quorum"], runs["ci-plain"], runs["ci-heartbeat"], runs.joint, runs.promote,
    runs.snapshot,
  ],
  /** Wider: more terms, values and messages, every feature of the CI runs at once. */
  wide: [
    {
      ...runs.ci, name: "wide", maxTerm: 3, maxLog: 3, maxMessages: 3, heartbeats: true,
      checkQuorumAction: true, maxProposals: 2, maxRestarts: 1, maxDuplicates: 1,
    },
    { ...runs.joint, name: "wide-joint", maxTerm: 3, maxLog: 4, heartbeats: true, maxProposals: 1 },
  ],
}

export const boundSetNames = (): string[] => Object.keys(boundSets)

/**
 * Where each zoo bug is reachable; `--bug NAME` searches these runs. Why each needs its run:
 * DoubleVote, ApplyUncommitted, VoteWithoutLogCheck: any election (and a commit) will do.
 * VoteNotPersisted: a crash between granting a vote and a second candidate asking.
 * CommitOldTermEntries: Figure 8 of the Raft paper, which takes four terms with three servers.
 * SkipPrevLogCheck: a leader of term 3 whose first append lands on an entry of term 1.
 * NoConflictTruncation: a follower holding two entries, the first of them overwritten.
 * CommitBeyondMatch: never unsafe here (see StepRules.ts); the step rule sees it when a
 *   pipelined append is resent to a follower that already holds more (two values, a copy).
 * ReadIndexBeforeOwnTermCommit: a new leader that has not learned the commit index yet.
 * ReadIndexIgnoresContext: a deposed leader counting an old round's ack for a new read.
 * JointSingleMajority: a joint configuration whose incoming majority is not an outgoing one.
 * ConfChangeWhilePending: a second change proposed while the first is in flight.
 * SnapshotDropsCommitted: a copy of a snapshot arriving after the follower moved past it.
 * (Liveness-only bugs are the simulation's: test/sim/zoo.test.ts.)
 */
export const bugBounds: Readonly<Record<SafetyBugName, RunName>> = {
  DoubleVote: "ci-plain",
  VoteWithoutLogCheck: "ci-plain",
  VoteNotPersisted: "vote-restart",
  CommitOldTermEntries: "figure-8",
  NoConflictTruncation: "replicate",
  SkipPrevLogCheck: "stale-leader",
  CommitBeyondMatch: "pipeline",
  ReadIndexBeforeOwnTermCommit: "read-new-leader",
  ReadIndexIgnoresContext: "read-stale-leader",
  JointSingleMajority: "joint-shrink",
  ApplyUncommitted: "ci-plain",
  SnapshotDropsCommitted: "snapshot",
  ConfChangeWhilePending: "joint-twice",
}
