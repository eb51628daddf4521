// Every rule of the node-loop validator (src/check/node-loop.ts) catches a planted violation:
// each case takes the trace of a clean RaftNode cluster run (test/server/TracedCluster.ts),
// which validates clean, changes one thing the way a broken node loop or core would, and expects
// the rule to name it. A table at the end checks that no rule goes without such a case.
import { beforeAll, describe, expect, it } from "vitest"
import { checkNodeLoopTrace, describeViolation, NODE_LOOP_RULES, type NodeLoopRule } from "../../src/check/node-loop.ts"
import { parseServerTraceLine } from "../../src/check/server-trace-format.ts"
import { tracedScenario } from "../server/TracedCluster.ts"

// The trace as mutable JSON: mutations reach into it like a hand edit of the file would.
type Line = any

let clean: ReadonlyArray<string> = []

const fresh = (): Line[] => clean.map((text) => JSON.parse(text))
const nodeOf = (line: Line): number => line.server ?? line.node
const isCore = (line: Line): boolean => typeof line.action === "string"

function validate(trace: ReadonlyArray<Line>) {
  return checkNodeLoopTrace(trace.map((line) => parseServerTraceLine(JSON.stringify(line))))
}

function indexWhere(trace: ReadonlyArray<Line>, test: (line: Line, at: number) => boolean, from = 0): number {
  for (let at = from; at < trace.length; at++) if (test(trace[at], at)) return at
  throw new Error("the clean trace has no line the mutation needs")
}

function lastIndexWhere(trace: ReadonlyArray<Line>, test: (line: Line) => boolean, before: number): number {
  for (let at = before - 1; at >= 0; at--) if (test(trace[at])) return at
  throw new Error("the clean trace has no line the mutation needs")
}

/** The previous core line of the same member, if any. */
function previousCore(trace: ReadonlyArray<Line>, at: number): Line | undefined {
  for (let k = at - 1; k >= 0; k--) {
    if (nodeOf(trace[k]) !== nodeOf(trace[at])) continue
    if (trace[k].kind === "Start") return undefined
    if (isCore(trace[k])) return trace[k]
  }
  return undefined
}

const grantedVote = (m: Line): boolean => m?.type === "RequestVoteResponse" && m.voteGranted && !m.preVote
const successfulAck = (m: Line): boolean => m?.type === "AppendEntriesResponse" && m.success && m.matchIndex > 0

const mutations: ReadonlyArray<readonly [NodeLoopRule, string, (trace: Line[]) => void]> = [
  ["VoteDurableBeforeSend", "a granted vote leaves before the save that holds it", (t) => {
    const sent = indexWhere(t, (l) => l.kind === "Sent" && l.messages.some(grantedVote))
    const saved = lastIndexWhere(t, (l) => l.kind === "Saved" && nodeOf(l) === nodeOf(t[sent]) && l.hardState !== undefined, sent)
    t.splice(saved, 0, t.splice(sent, 1)[0])
  }],
  ["MatchDurableBeforeSend", "an ack claims more than was saved", (t) => {
    const sent = indexWhere(t, (l) => l.kind === "Sent" && l.messages.some(successfulAck))
    t[sent].messages.find(successfulAck).matchIndex += 100
  }],
  ["ApplyDurable", "the save of an applied entry stopped short of it", (t) => {
    const applied = indexWhere(t, (l) => l.kind === "Applied" && l.index > 1)
    const node = nodeOf(t[applied])
    const saved = lastIndexWhere(t, (l) => l.kind === "Saved" && nodeOf(l) === node && l.lastIndex >= t[applied].index, applied)
    t[saved].lastIndex = t[applied].index - 1
  }],
  ["ApplyInOrder", "an entry is skipped", (t) => {
    t.splice(indexWhere(t, (l) => l.kind === "Applied" && l.index > 1), 1)
  }],
  ["ApplyCommitted", "the applied entry has another term than the log's", (t) => {
    const applied = indexWhere(t, (l, at) => l.kind === "Applied" && previousCore(t, at) !== undefined)
    t[applied].term += 5
  }],
  ["AnswerAfterApply", "a client is answered before the entry before its own is applied", (t) => {
    const answered = indexWhere(t, (l) => l.kind === "Answered" && l.index > 2)
    const node = nodeOf(t[answered])
    const earlier = lastIndexWhere(t, (l) => l.kind === "Applied" && nodeOf(l) === node && l.index === t[answered].index - 1, answered)
    t.splice(earlier, 0, t.splice(answered, 1)[0])
  }],
  ["MonotonicTerm", "a member's term goes back", (t) => {
    const at = indexWhere(t, (l, at) => isCore(l) && l.state.currentTerm > 0 && (previousCore(t, at)?.state.currentTerm ?? 0) > 0)
    t[at].state.currentTerm = 0
  }],
  ["MonotonicCommitIndex", "a member's commitIndex goes back", (t) => {
    const at = indexWhere(t, (l, at) => isCore(l) && (previousCore(t, at)?.state.commitIndex ?? 0) > 0)
    t[at].state.commitIndex = 0
  }],
  ["OneVotePerTerm", "a member votes for a second candidate in the same term", (t) => {
    const at = indexWhere(t, (l, at) => {
      const before = previousCore(t, at)
      return isCore(l) && l.state.votedFor !== 0 && before?.state.votedFor === l.state.votedFor &&
        before.state.currentTerm === l.state.currentTerm
    })
    t[at].state.votedFor = 99
  }],
  ["RecoveredDurable", "a restart recovers an older hard state than was synced", (t) => {
    const start = t.find((l) => l.kind === "Start")
    t.push({ ...start, hardState: { currentTerm: 0, votedFor: 0, commitIndex: 0 } })
  }],
  ["LogContiguous", "a save leaves a gap after the log's end", (t) => {
    const saved = indexWhere(t, (l) => l.kind === "Saved" && l.firstIndex !== undefined)
    t[saved].firstIndex += 2
    t[saved].lastIndex = Math.max(t[saved].lastIndex, t[saved].firstIndex)
  }],
  ["VoteForUpToDateLog", "a vote goes to a candidate with an empty log", (t) => {
    const at = indexWhere(t, (l) => l.action === "HandleRequestVoteRequest" && l.reply.voteGranted && l.state.log.length > 0)
    t[at].message.lastLogIndex = 0
    t[at].message.lastLogTerm = 0
  }],
  ["GrantedVoteRecorded", "a granted vote is not in the state", (t) => {
    const at = indexWhere(t, (l) => l.action === "HandleRequestVoteRequest" && grantedVote(l.reply))
    t[at].state.votedFor = 0
  }],
  ["AppendEntriesMatchIndex", "an accepted append answers a matchIndex past its entries", (t) => {
    const at = indexWhere(t, (l) => l.action === "HandleAppendEntriesRequest" && l.reply.success && l.message.entries.length > 0)
    t[at].reply.matchIndex += 1
  }],
  ["AppendEntriesCommitRule", "a follower commits past the leader's commitIndex", (t) => {
    const at = indexWhere(t, (l, at) => l.action === "HandleAppendEntriesRequest" &&
      l.state.commitIndex > (previousCore(t, at)?.state.commitIndex ?? 0))
    t[at].message.commitIndex = 0
  }],
  ["CommitOwnTerm", "a leader commits an entry of an older term by counting", (t) => {
    const at = indexWhere(t, (l) => l.action === "AdvanceCommitIndex")
    const s = t[at].state
    s.log[t[at].params.n - s.snapshotIndex - 1].term = s.currentTerm - 1
  }],
  ["CommitIndexInLog", "commitIndex past the last index", (t) => {
    const at = indexWhere(t, (l) => isCore(l) && l.state.commitIndex > 0)
    t[at].state.commitIndex = t[at].state.snapshotIndex + t[at].state.log.length + 3
  }],
  ["TimeoutStep", "a PreVote timeout moves to the next term", (t) => {
    const at = indexWhere(t, (l, at) => l.action === "Timeout" && previousCore(t, at) !== undefined)
    t[at].state.currentTerm += 1
  }],
  ["CampaignStep", "a candidate campaigns without voting for itself", (t) => {
    const at = indexWhere(t, (l, at) => l.action === "BecomeCandidate" && previousCore(t, at) !== undefined)
    t[at].state.votedFor = 0
  }],
  ["BecomeLeaderStep", "a new leader appends no no-op", (t) => {
    const at = indexWhere(t, (l) => l.action === "BecomeLeader")
    t[at].state.log.pop()
  }],
  ["UpdateTermStep", "a higher term leaves the member a candidate", (t) => {
    const at = indexWhere(t, (l, at) => l.action === "UpdateTerm" && previousCore(t, at) !== undefined)
    t[at].state.state = "Candidate"
  }],
  ["LeaderAppendOnly", "a leader rewrites an entry in its term", (t) => {
    const at = indexWhere(t, (l, at) => {
      const before = previousCore(t, at)
      return isCore(l) && l.state.state === "Leader" && before?.state.state === "Leader" &&
        before.state.currentTerm === l.state.currentTerm && before.state.log.length > 0
    })
    t[at].state.log[0].term += 1
  }],
]

describe("node-loop validator rules", () => {
  beforeAll(async () => {
    clean = await tracedScenario({ snapshotCount: 1000 }, 20)
  }, 60_000)

  it("accepts the clean trace", () => {
    const report = validate(fresh())
    expect(report.violations.map(describeViolation)).toEqual([])
    expect(report.events).toBe(clean.length)
  })

  for (const [rule, what, mutate] of mutations) {
    it(`${rule}: catches ${what}`, () => {
      const trace = fresh()
      mutate(trace)
      const report = validate(trace)
      expect(report.violations.map((v) => v.rule), report.violations.map(describeViolation).join("\n")).toContain(rule)
    })
  }

  it("has a planted violation for every rule", () => {
    expect(new Set(mutations.map(([rule]) => rule))).toEqual(new Set(NODE_LOOP_RULES))
  })
})
