// Per-member checks of the core's traced spec actions (lines with "action" in a server trace):
// the steps of spec/Raft.tla that one server's trace can judge on its own, without the other
// servers or the network. Rule names follow the spec (and test/model/StepRules.ts).
import type { CoreLine, TracedCoreState, TracedMessage } from "./server-trace-format.ts"

export interface StepFinding {
  readonly rule: StepRule
  readonly explanation: string
}

export const STEP_RULES = [
  "VoteForUpToDateLog",
  "GrantedVoteRecorded",
  "AppendEntriesMatchIndex",
  "AppendEntriesCommitRule",
  "CommitOwnTerm",
  "CommitIndexInLog",
  "LeaderAppendOnly",
  "TimeoutStep",
  "CampaignStep",
  "BecomeLeaderStep",
  "UpdateTermStep",
] as const

export type StepRule = (typeof STEP_RULES)[number]

function lastIndexOf(s: TracedCoreState): number {
  return s.snapshotIndex + s.log.length
}

function lastTermOf(s: TracedCoreState): number {
  return s.log.length === 0 ? s.snapshotTerm : s.log[s.log.length - 1]!.term
}

/** The term of the entry at `index`, if the traced log holds it (not compacted nor past its end). */
export function termAt(s: TracedCoreState, index: number): number | undefined {
  if (index === s.snapshotIndex) return s.snapshotTerm
  return s.log[index - s.snapshotIndex - 1]?.term
}

const finding = (rule: StepRule, explanation: string): StepFinding => ({ rule, explanation })

/** HandleRequestVoteRequest: a vote goes only to a log at least as up to date, and is recorded. */
function voteRules(line: CoreLine, m: TracedMessage, reply: TracedMessage): StepFinding[] {
  if (reply.type !== "RequestVoteResponse" || reply.voteGranted !== true) return []
  const s = line.state
  const found: StepFinding[] = []
  const ourTerm = lastTermOf(s)
  const ourIndex = lastIndexOf(s)
  const candidateTerm = m.lastLogTerm ?? 0
  const candidateIndex = m.lastLogIndex ?? 0
  if (candidateTerm < ourTerm || (candidateTerm === ourTerm && candidateIndex < ourIndex)) {
    const what = m.preVote === true ? "pre-vote" : "vote"
    found.push(finding("VoteForUpToDateLog",
      `granted a ${what} to ${m.from}, whose log ends at ${candidateIndex} (term ${candidateTerm}), ` +
        `behind ours at ${ourIndex} (term ${ourTerm})`))
  }
  if (reply.preVote !== true && (s.votedFor !== m.from || reply.term !== s.currentTerm)) {
    found.push(finding("GrantedVoteRecorded",
      `granted its term-${reply.term} vote to ${m.from} but its state says term ${s.currentTerm}, ` +
        `votedFor ${s.votedFor}`))
  }
  return found
}

/** HandleAppendEntriesRequest: accepted entries are in the log and acknowledged as matchIndex. */
function appendMatchRule(s: TracedCoreState, m: TracedMessage, reply: TracedMessage): StepFinding[] {
  const entries = m.entries ?? []
  const lastNew = (m.prevLogIndex ?? 0) + entries.length
  if (reply.matchIndex !== lastNew) {
    return [finding("AppendEntriesMatchIndex", `accepted entries up to ${lastNew} but answered matchIndex ${reply.matchIndex}`)]
  }
  const missing = entries.find((e) => e.index > s.snapshotIndex && termAt(s, e.index) !== e.term)
  if (missing === undefined) return []
  return [finding("AppendEntriesMatchIndex",
    `accepted entry ${missing.index} (term ${missing.term}) but its log holds term ` +
      `${termAt(s, missing.index) ?? "nothing"} there`)]
}

/** HandleAppendEntriesRequest: commitIndex' <= Max(commitIndex, Min(m.commitIndex, lastNew)). */
function appendRules(line: CoreLine, m: TracedMessage, reply: TracedMessage, commitBefore: number): StepFinding[] {
  const s = line.state
  const prevLogIndex = m.prevLogIndex ?? 0
  // Below the member's commitIndex the code answers with its commitIndex, not the request's range.
  const found = reply.success === true && prevLogIndex >= commitBefore ? appendMatchRule(s, m, reply) : []
  const accepted = reply.success === true ? prevLogIndex + (m.entries ?? []).length : 0
  const allowed = Math.max(commitBefore, Math.min(m.commitIndex ?? 0, accepted))
  if (s.commitIndex > allowed) {
    found.push(finding("AppendEntriesCommitRule",
      `committed ${s.commitIndex} on an append that matched up to ${accepted} ` +
        `(leader commit ${m.commitIndex ?? 0}, own commit was ${commitBefore})`))
  }
  return found
}

/** AdvanceCommitIndex: a leader commits n by counting only if the entry at n is of its term. */
function commitOwnTerm(line: CoreLine): StepFinding[] {
  const s = line.state
  const n = line.params?.["n"] ?? s.commitIndex
  const term = termAt(s, n)
  if (s.state === "Leader" && s.commitIndex === n && (term === undefined || term === s.currentTerm)) return []
  return [finding("CommitOwnTerm",
    `${s.state} in term ${s.currentTerm} advanced commitIndex to ${s.commitIndex} ` +
      `(n = ${n}, an entry of term ${term ?? "?"})`)]
}

function leaderAppendOnly(before: TracedCoreState, after: TracedCoreState): StepFinding[] {
  const term = after.currentTerm
  if (before.state !== "Leader" || after.state !== "Leader" || before.currentTerm !== term) return []
  const beforeLast = lastIndexOf(before)
  if (lastIndexOf(after) < beforeLast) {
    return [finding("LeaderAppendOnly", `a leader's log shrank from ${beforeLast} to ${lastIndexOf(after)} in term ${term}`)]
  }
  for (let k = Math.max(before.snapshotIndex, after.snapshotIndex) + 1; k <= beforeLast; k++) {
    if (termAt(before, k) !== termAt(after, k)) {
      return [finding("LeaderAppendOnly", `a leader rewrote entry ${k} in term ${term}`)]
    }
  }
  return []
}

/** Timeout: a PreVote round keeps the term and vote; without PreVote, the spec's Campaign. */
function timeoutStep(s: TracedCoreState, before: TracedCoreState, server: number, preVote: boolean): StepFinding[] {
  if (!preVote) return campaignStep(s, before, server, "TimeoutStep")
  if (s.state === "PreCandidate" && s.currentTerm === before.currentTerm && s.votedFor === before.votedFor) return []
  return [finding("TimeoutStep",
    `a PreVote timeout left ${s.state} in term ${s.currentTerm}, vote ${s.votedFor} ` +
      `(was term ${before.currentTerm}, vote ${before.votedFor})`)]
}

/** Campaign (BecomeCandidate, HandleTimeoutNowRequest): the next term, as a candidate voting for itself. */
function campaignStep(s: TracedCoreState, before: TracedCoreState, server: number, rule: StepRule): StepFinding[] {
  if (s.state === "Candidate" && s.currentTerm === before.currentTerm + 1 && s.votedFor === server) return []
  return [finding(rule,
    `campaigned as ${s.state} in term ${s.currentTerm} voting for ${s.votedFor} (was term ${before.currentTerm})`)]
}

/** BecomeLeader: a candidate leads in its term and appends one no-op of that term. */
function becomeLeaderStep(s: TracedCoreState, before: TracedCoreState): StepFinding[] {
  const appended = lastIndexOf(s) === lastIndexOf(before) + 1 && lastTermOf(s) === s.currentTerm
  if (before.state === "Candidate" && s.state === "Leader" && s.currentTerm === before.currentTerm && appended) return []
  return [finding("BecomeLeaderStep",
    `${before.state} became ${s.state} in term ${s.currentTerm} (was ${before.currentTerm}) with a log ` +
      `ending at ${lastIndexOf(s)} (term ${lastTermOf(s)}), was ${lastIndexOf(before)}`)]
}

/** UpdateTerm: a message of a higher term makes a follower of that term, with no vote. */
function updateTermStep(s: TracedCoreState, before: TracedCoreState, m: TracedMessage | undefined): StepFinding[] {
  const term = m?.term ?? -1
  if (term > before.currentTerm && s.currentTerm === term && s.state === "Follower" && s.votedFor === 0) return []
  return [finding("UpdateTermStep",
    `a message of term ${term} left ${s.state} in term ${s.currentTerm}, vote ${s.votedFor} ` +
      `(was term ${before.currentTerm})`)]
}

/** The election actions, judged against the member's previous traced state. */
function electionSteps(line: CoreLine, before: TracedCoreState, preVote: boolean | undefined): StepFinding[] {
  const s = line.state
  switch (line.action) {
    case "Timeout": return preVote === undefined ? [] : timeoutStep(s, before, line.server, preVote)
    case "BecomeCandidate":
    case "HandleTimeoutNowRequest": return campaignStep(s, before, line.server, "CampaignStep")
    case "BecomeLeader": return becomeLeaderStep(s, before)
    case "UpdateTerm": return updateTermStep(s, before, line.message)
    default: return []
  }
}

/**
 * The findings for one core action. `before` is the member's previous traced state (undefined
 * right after a start); `commitBefore` its commitIndex then (the recovered one after a start);
 * `preVote` the member's setting, from its Start line.
 */
export function checkCoreStep(
  line: CoreLine,
  before: TracedCoreState | undefined,
  commitBefore: number,
  preVote: boolean | undefined,
): StepFinding[] {
  const s = line.state
  const found: StepFinding[] = []
  if (s.commitIndex > lastIndexOf(s)) {
    found.push(finding("CommitIndexInLog", `commitIndex ${s.commitIndex} is past its last index ${lastIndexOf(s)}`))
  }
  const { message, reply } = line
  if (message !== undefined && reply !== undefined) {
    if (line.action === "HandleRequestVoteRequest") found.push(...voteRules(line, message, reply))
    if (line.action === "HandleAppendEntriesRequest") found.push(...appendRules(line, message, reply, commitBefore))
  }
  if (line.action === "AdvanceCommitIndex") found.push(...commitOwnTerm(line))
  if (before !== undefined) found.push(...leaderAppendOnly(before, s), ...electionSteps(line, before, preVote))
  return found
}
