// Node-loop trace validation: replays a server trace (--experimental-trace-file, one member's or
// several members' lines interleaved) and checks the Raft durability contract that the pure core
// cannot check itself, since it holds only in the loop around it (src/server/RaftNode.ts):
//
//   VoteDurableBeforeSend   a granted vote (not a pre-vote) leaves only when the durable hard
//                           state holds that term and that vote, or a later term
//   MatchDurableBeforeSend  a successful AppendEntriesResponse with matchIndex m leaves only when
//                           the durable log (or a durable snapshot) reaches m
//   ApplyDurable            an entry is applied only if it is durable here
//   ApplyInOrder            entries are applied one by one, without gaps or repeats
//   ApplyCommitted          ... and only up to the traced commitIndex, with the log's term
//   AnswerAfterApply        a client is answered only once its entry is applied
//   MonotonicTerm, MonotonicCommitIndex, OneVotePerTerm    the traced states, over time
//   RecoveredDurable        a restart recovers at least what was durable
//   LogContiguous           a save never leaves a gap in the log
//
// plus the per-action spec rules of node-loop-steps.ts. "Durable" follows the Saved events: a
// save with sync makes everything written so far durable (one WAL, one fdatasync); a save
// without sync is only written. A save's entries replace the log from their first index on.
// Pure: feed lines with `check`, read the report with `report`.
import { checkCoreStep, STEP_RULES, termAt } from "./node-loop-steps.ts"
import {
  type CoreLine,
  isCoreLine,
  type NodeLoopLine,
  type ServerTraceLine,
  type TracedCoreState,
  type TracedHardState,
  type TracedMessage,
} from "./server-trace-format.ts"

export const NODE_LOOP_RULES = [
  "VoteDurableBeforeSend",
  "MatchDurableBeforeSend",
  "ApplyDurable",
  "ApplyInOrder",
  "ApplyCommitted",
  "AnswerAfterApply",
  "MonotonicTerm",
  "MonotonicCommitIndex",
  "OneVotePerTerm",
  "RecoveredDurable",
  "LogContiguous",
  ...STEP_RULES,
] as const

export type NodeLoopRule = (typeof NODE_LOOP_RULES)[number]

export interface NodeLoopViolation {
  /** 1-based number of the event (line) that broke the rule. */
  readonly event: number
  readonly node: number
  readonly rule: NodeLoopRule
  readonly explanation: string
}

export interface NodeLoopReport {
  readonly events: number
  readonly members: number
  /** The first `violationsMax` violations, in trace order. */
  readonly violations: ReadonlyArray<NodeLoopViolation>
  /** How many more were found and not kept. */
  readonly violationsDropped: number
}

/** What one member's disk holds, as far as the trace tells. */
interface Disk {
  hardState: TracedHardState
  lastIndex: number
  lastTerm: number
  snapshotIndex: number
}

interface Member {
  written: Disk
  durable: Disk
  appliedIndex: number
  /** The highest commitIndex traced since the start (the recovered one before any action). */
  commitIndex: number
  term: number
  /** The last traced core state since the start, the "before" of the next action. */
  core: TracedCoreState | undefined
  /** The vote held in memory (OneVotePerTerm within one run of the process). */
  voteTerm: number
  voteFor: number
  /** Votes that left, by term, across restarts: a restart must not let a second one leave. */
  readonly votesSent: Map<number, number>
  /** The member's PreVote setting, from its Start line. */
  preVote: boolean | undefined
}

const zeroHardState: TracedHardState = { currentTerm: 0, votedFor: 0, commitIndex: 0 }

function freshMember(): Member {
  const disk: Disk = { hardState: zeroHardState, lastIndex: 0, lastTerm: 0, snapshotIndex: 0 }
  return {
    written: { ...disk },
    durable: { ...disk },
    appliedIndex: 0,
    commitIndex: 0,
    term: 0,
    core: undefined,
    voteTerm: 0,
    voteFor: 0,
    votesSent: new Map(),
    preVote: undefined,
  }
}

type LineOf<K extends NodeLoopLine["kind"]> = Extract<NodeLoopLine, { kind: K }>

const describeHardState = (h: TracedHardState): string => `term ${h.currentTerm}, vote ${h.votedFor}`
const durableReach = (disk: Disk): number => Math.max(disk.lastIndex, disk.snapshotIndex)

/** Why something past the durable log was not durable: written without sync, or not saved. */
function notDurableBecause(member: Member, index: number): string {
  const written = durableReach(member.written)
  return written >= index ? ` (written up to ${written}, not synced)` : " (not yet saved)"
}

export class NodeLoopChecker {
  private readonly members = new Map<number, Member>()
  private readonly violations: NodeLoopViolation[] = []
  private readonly violationsMax: number
  private dropped = 0
  private events = 0

  constructor(violationsMax = 100) {
    this.violationsMax = violationsMax
  }

  /** Checks the next line of the trace. */
  check(line: ServerTraceLine): void {
    this.events++
    const node = isCoreLine(line) ? line.server : line.node
    const member = this.memberOf(node)
    if (isCoreLine(line)) this.checkCore(node, member, line)
    else this.checkNodeLoop(node, member, line)
  }

  report(): NodeLoopReport {
    return {
      events: this.events,
      members: this.members.size,
      violations: this.violations,
      violationsDropped: this.dropped,
    }
  }

  private memberOf(node: number): Member {
    let member = this.members.get(node)
    if (member === undefined) {
      member = freshMember()
      this.members.set(node, member)
    }
    return member
  }

  private flag(node: number, rule: NodeLoopRule, explanation: string, event = this.events): void {
    if (this.violations.length >= this.violationsMax) this.dropped++
    else this.violations.push({ event, node, rule, explanation })
  }

  private checkNodeLoop(node: number, member: Member, line: NodeLoopLine): void {
    switch (line.kind) {
      case "Start": return this.start(node, member, line)
      case "Saved": return this.saved(node, member, line)
      case "SnapshotSaved": return this.snapshotSaved(member, line)
      case "Sent":
        for (const m of line.messages) this.sent(node, member, m)
        return
      case "Applied": return this.applied(node, member, line)
      case "Answered": return this.answered(node, member, line)
    }
  }

  private start(node: number, member: Member, line: LineOf<"Start">): void {
    const durable = member.durable.hardState
    const recovered = line.hardState
    const votedBefore = recovered.currentTerm === durable.currentTerm && durable.votedFor !== 0
    const voteLost = votedBefore && recovered.votedFor !== durable.votedFor
    if (recovered.currentTerm < durable.currentTerm || voteLost) {
      this.flag(node, "RecoveredDurable",
        `recovered ${describeHardState(recovered)}, but ${describeHardState(durable)} was durable`)
    }
    if (recovered.commitIndex < durable.commitIndex) {
      this.flag(node, "RecoveredDurable",
        `recovered commitIndex ${recovered.commitIndex}, but ${durable.commitIndex} was durable`)
    }
    const disk: Disk = {
      hardState: recovered,
      lastIndex: line.lastIndex,
      lastTerm: line.lastTerm,
      snapshotIndex: line.snapshotIndex,
    }
    member.written = { ...disk }
    member.durable = { ...disk }
    member.appliedIndex = line.snapshotIndex
    member.commitIndex = recovered.commitIndex
    member.term = recovered.currentTerm
    member.core = undefined
    member.voteTerm = recovered.currentTerm
    member.voteFor = recovered.votedFor
    member.preVote = line.preVote
  }

  private saved(node: number, member: Member, line: LineOf<"Saved">): void {
    const written = member.written
    if (line.hardState !== undefined) {
      if (line.hardState.currentTerm < written.hardState.currentTerm) {
        this.flag(node, "MonotonicTerm",
          `saved term ${line.hardState.currentTerm} over term ${written.hardState.currentTerm}`)
      }
      written.hardState = line.hardState
    }
    if (line.firstIndex !== undefined && line.lastIndex !== undefined && line.lastTerm !== undefined) {
      if (line.firstIndex > written.lastIndex + 1) {
        this.flag(node, "LogContiguous",
          `saved entries from ${line.firstIndex} on a log that ends at ${written.lastIndex}`)
      }
      written.lastIndex = line.lastIndex
      written.lastTerm = line.lastTerm
    }
    if (line.sync) member.durable = { ...written }
  }

  private snapshotSaved(member: Member, line: LineOf<"SnapshotSaved">): void {
    // A snapshot file is durable when saved. One from the leader replaces the log and the state.
    for (const disk of [member.written, member.durable]) {
      disk.snapshotIndex = Math.max(disk.snapshotIndex, line.index)
      if (line.installed) {
        disk.lastIndex = line.index
        disk.lastTerm = line.term
      }
    }
    if (line.installed) member.appliedIndex = line.index
  }

  private sent(node: number, member: Member, m: TracedMessage): void {
    if (m.type === "RequestVoteResponse" && m.voteGranted === true && m.preVote !== true) {
      this.sentVote(node, member, m)
    }
    const matchIndex = m.matchIndex ?? 0
    const acknowledged = m.type === "AppendEntriesResponse" && m.success === true
    if (acknowledged && matchIndex > durableReach(member.durable)) {
      this.flag(node, "MatchDurableBeforeSend",
        `acknowledged entries up to ${matchIndex} to ${m.to} (term ${m.term}), but its durable log ` +
          `ends at ${durableReach(member.durable)}${notDurableBecause(member, matchIndex)}`)
    }
  }

  private sentVote(node: number, member: Member, m: TracedMessage): void {
    // A later durable term also keeps the promise: the member can never vote in m.term again.
    const holds = (h: TracedHardState): boolean =>
      h.currentTerm > m.term || (h.currentTerm === m.term && h.votedFor === m.to)
    const durable = member.durable.hardState
    if (!holds(durable)) {
      const written = member.written.hardState
      const why = holds(written) ? ` (${describeHardState(written)} written, not synced)` : " (no save holds the vote)"
      this.flag(node, "VoteDurableBeforeSend",
        `granted its term-${m.term} vote to ${m.to}, but the durable hard state is ${describeHardState(durable)}${why}`)
    }
    const earlier = member.votesSent.get(m.term)
    if (earlier !== undefined && earlier !== m.to) {
      this.flag(node, "OneVotePerTerm", `sent votes in term ${m.term} to ${earlier} and to ${m.to}`)
    }
    member.votesSent.set(m.term, m.to)
  }

  private applied(node: number, member: Member, line: LineOf<"Applied">): void {
    const { index } = line
    if (index !== member.appliedIndex + 1) {
      this.flag(node, "ApplyInOrder", `applied ${index} after ${member.appliedIndex}`)
    }
    if (index > durableReach(member.durable)) {
      this.flag(node, "ApplyDurable",
        `applied ${index} (term ${line.term}), but its durable log ends at ` +
          `${durableReach(member.durable)}${notDurableBecause(member, index)}`)
    }
    const term = member.core === undefined ? undefined : termAt(member.core, index)
    const otherTerm = term !== undefined && term !== line.term
    if (index > member.commitIndex || otherTerm) {
      this.flag(node, "ApplyCommitted",
        `applied ${index} (term ${line.term}) with commitIndex ${member.commitIndex}` +
          (otherTerm ? ` and a log of term ${term} there` : ""))
    }
    member.appliedIndex = Math.max(member.appliedIndex, index)
  }

  private answered(node: number, member: Member, line: LineOf<"Answered">): void {
    if (line.index <= member.appliedIndex) return
    this.flag(node, "AnswerAfterApply",
      `answered request ${line.requestId} at ${line.index} with ${member.appliedIndex} applied`)
  }

  private checkCore(node: number, member: Member, line: CoreLine): void {
    const s = line.state
    const action = line.action
    if (s.currentTerm < member.term) {
      this.flag(node, "MonotonicTerm", `${action}: term ${s.currentTerm} after term ${member.term}`)
    }
    if (s.commitIndex < member.commitIndex) {
      this.flag(node, "MonotonicCommitIndex",
        `${action}: commitIndex ${s.commitIndex} after ${member.commitIndex}`)
    }
    const sameTerm = s.currentTerm === member.voteTerm
    if (s.votedFor !== 0 && sameTerm && member.voteFor !== 0 && s.votedFor !== member.voteFor) {
      this.flag(node, "OneVotePerTerm",
        `${action}: voted for ${s.votedFor} in term ${s.currentTerm}, after voting for ${member.voteFor}`)
    }
    for (const finding of checkCoreStep(line, member.core, member.commitIndex, member.preVote)) {
      this.flag(node, finding.rule, `${action}: ${finding.explanation}`)
    }
    if (!sameTerm || s.votedFor !== 0) {
      member.voteTerm = s.currentTerm
      member.voteFor = s.votedFor
    }
    member.term = Math.max(member.term, s.currentTerm)
    member.commitIndex = Math.max(member.commitIndex, s.commitIndex)
    member.core = s
  }
}

/** Checks a whole trace. */
export function checkNodeLoopTrace(
  lines: Iterable<ServerTraceLine>,
  violationsMax?: number,
): NodeLoopReport {
  const checker = new NodeLoopChecker(violationsMax)
  for (const line of lines) checker.check(line)
  return checker.report()
}

/** One line per violation: `event 12 node 2 VoteDurableBeforeSend: granted ...`. */
export function describeViolation(v: NodeLoopViolation): string {
  return `event ${v.event} node ${v.node} ${v.rule}: ${v.explanation}`
}
