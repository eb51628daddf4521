// The bug zoo: named, deliberate protocol bugs that can be switched on in the core so the checkers
// (model checker, random simulation, trace validation) can be shown to catch them. Each bug is
// one `hasBug(r, "Name")` test at the exact place the correct rule lives. Production passes none.

export const BUGS = {
  DoubleVote: "a server grants its vote to a second candidate in the same term",
  VoteWithoutLogCheck: "a vote is granted without checking that the candidate's log is up to date",
  VoteNotPersisted: "a granted vote is left out of the hard state, so a restart forgets it",
  CommitOldTermEntries: "a leader counts replicas of entries from older terms toward commitment",
  NoConflictTruncation: "a follower overwrites a conflicting entry but keeps the stale suffix after it",
  SkipPrevLogCheck: "a follower accepts entries without checking the previous entry's term",
  CommitBeyondMatch: "a follower advances commitIndex past the entries it knows match the leader",
  ReadIndexBeforeOwnTermCommit: "a leader answers ReadIndex before committing an entry of its term",
  ReadIndexIgnoresContext: "ReadIndex counts heartbeat acks of any round, not the read's own",
  JointSingleMajority: "a joint configuration is decided by the incoming voters' majority alone",
  ApplyUncommitted: "entries are handed to the application before they are committed",
  SnapshotDropsCommitted: "a follower installs a snapshot older than its commitIndex, dropping committed entries",
  ConfChangeWhilePending: "a leader proposes a configuration change while another is uncommitted",
  StaleLeaderRequestDropped:
    "a server ahead of a leader's term drops its requests instead of answering with that term (liveness)",
} as const

export type BugName = keyof typeof BUGS

export const bugNames = (): BugName[] => Object.keys(BUGS) as BugName[]

/**
 * Bugs that break only liveness: every state stays safe, so the model checker (which checks
 * safety) cannot see them; the simulation's liveness check does (test/sim/zoo.test.ts).
 */
export const livenessBugs = ["StaleLeaderRequestDropped"] as const satisfies ReadonlyArray<BugName>
export type LivenessBugName = (typeof livenessBugs)[number]
export type SafetyBugName = Exclude<BugName, LivenessBugName>

export const safetyBugNames = (): SafetyBugName[] =>
  bugNames().filter((name): name is SafetyBugName => !(livenessBugs as ReadonlyArray<BugName>).includes(name))

export function isBugName(name: string): name is BugName {
  return Object.hasOwn(BUGS, name)
}
