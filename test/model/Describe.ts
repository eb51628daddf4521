// Counterexamples as readable tables: one row per step with the acting server's role, term, log
// and commit index after the step, then the violation and every server's final state.
import type { BugName } from "../../src/raft/Bugs.ts"
import type { RaftState } from "../../src/raft/Raft.ts"
import type { Config, Entry, Message } from "../../src/raft/Types.ts"
import { type Action, actingServer, actionMessage } from "./Actions.ts"
import type { Bounds } from "./Bounds.ts"
import type { ModelState } from "./ModelState.ts"
import { type Counterexample, replay } from "./Explorer.ts"

/** Voters, then "&{outgoing}" while joint, then "+L{learners}". */
function configText(c: Config): string {
  const joint = c.votersOutgoing.length > 0 ? `&{${c.votersOutgoing.join(",")}}` : ""
  const learners = c.learners.length > 0 ? `+L{${c.learners.join(",")}}` : ""
  return `{${c.voters.join(",")}}${joint}${learners}`
}

export function entryText(e: Entry): string {
  if (e.type === "Config") return `t${e.term}:cfg${configText(e.config!)}`
  return e.data.length === 0 ? `t${e.term}` : `t${e.term}:v${e.data[0]}`
}

export function logText(r: RaftState): string {
  const snap = r.log.snapshot.meta
  const parts = r.log.entries.map(entryText)
  if (snap.index > 0) parts.unshift(`[snap ${snap.index}@t${snap.term}]`)
  return parts.length === 0 ? "(empty)" : parts.join(" ")
}

export function messageText(m: Message): string {
  const head = `${m.from}->${m.to} t${m.term}`
  switch (m.type) {
    case "RequestVoteRequest":
      return `${m.preVote ? "PreVote" : "RequestVote"} ${head} ` +
        `last=${m.lastLogIndex}@t${m.lastLogTerm}${m.leaderTransfer ? " (transfer)" : ""}`
    case "RequestVoteResponse":
      return `${m.preVote ? "PreVoteResp" : "VoteResp"} ${head} ` +
        (m.voteGranted ? "granted" : "rejected")
    case "AppendEntriesRequest":
      return `Append ${head} prev=${m.prevLogIndex}@t${m.prevLogTerm} ` +
        `[${m.entries.map(entryText).join(" ")}] commit=${m.commitIndex}`
    case "AppendEntriesResponse":
      return m.success
        ? `AppendResp ${head} ok match=${m.matchIndex}`
        : `AppendResp ${head} reject prev=${m.matchIndex} hint=${m.hintIndex}`
    case "HeartbeatRequest":
      return `Heartbeat ${head} commit=${m.commitIndex} ctx=${m.context}`
    case "HeartbeatResponse":
      return `HeartbeatResp ${head} ctx=${m.context}`
    case "InstallSnapshotRequest":
      return `Snapshot ${head} at ${m.snapshot.meta.index}@t${m.snapshot.meta.term}`
    case "TimeoutNowRequest":
      return `TimeoutNow ${head}`
  }
}

/** An action taken from `before`, in words. */
export function actionText(a: Action, before: ModelState): string {
  switch (a.kind) {
    case "Deliver": return `deliver ${messageText(actionMessage(before, a)!)}`
    case "Drop": return `drop ${messageText(actionMessage(before, a)!)}`
    case "Duplicate": return `duplicate ${messageText(actionMessage(before, a)!)}`
    case "Hup": return "Hup (election timeout)"
    case "Beat": return "Beat (heartbeats)"
    case "CheckQuorum": return "CheckQuorum"
    case "Propose": return `Propose v${a.value}`
    case "ReadIndex": return `ReadIndex ctx=${a.context}`
    case "TransferLeader": return `TransferLeader to ${a.target}`
    case "TransferTimeout": return "leader election timer (CheckQuorum, abort transfer)"
    case "ProposeConfChange":
      return `ProposeConfChange ${a.changes.map((c) => `${c.type} ${c.id}`).join(", ")}`
    case "CompactLog": return `CompactLog to ${a.index}`
    case "SnapshotReport": return `SnapshotReport ${a.target} ${a.success ? "ok" : "failed"}`
    case "Restart": return "Restart (crash; keeps storage only)"
    case "ExpireLease": return "leader lease expires (timer, no campaign)"
  }
}

type Row = readonly [string, string, string, string, string, string, string]

function formatTable(header: Row, rows: ReadonlyArray<Row>): string {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)))
  const line = (r: Row): string => r.map((cell, k) => cell.padEnd(widths[k]!)).join(" | ").trimEnd()
  const rule = widths.map((w) => "-".repeat(w)).join("-+-")
  return [line(header), rule, ...rows.map(line)].join("\n")
}

function stepRow(
  step: number,
  action: Action | undefined,
  before: ModelState,
  after: ModelState,
): Row {
  const id = action === undefined ? undefined : actingServer(before, action)
  const label = action === undefined ? "initial state" : actionText(action, before)
  if (id === undefined) return [String(step), "-", label, "", "", "", ""]
  const r = after.cluster.servers.get(id)!.raft
  const commit = String(r.log.commitIndex)
  return [String(step), String(id), label, r.role, String(r.currentTerm), logText(r), commit]
}

function finalStates(state: ModelState): string {
  const lines: string[] = []
  for (const [id, s] of state.cluster.servers) {
    const r = s.raft
    lines.push(
      `  server ${id}: ${r.role} term=${r.currentTerm} vote=${r.votedFor} leader=${r.leaderId} ` +
        `commit=${r.log.commitIndex} log=${logText(r)} applied=[${s.applied.join(",")}]`,
    )
  }
  const network = state.cluster.network.map(messageText)
  lines.push(`  in flight: ${network.length === 0 ? "(none)" : network.join("; ")}`)
  return lines.join("\n")
}

function throwingRow(step: number, action: Action, before: ModelState): Row {
  const id = actingServer(before, action)
  return [String(step), String(id ?? "-"), actionText(action, before), "THROWS", "", "", ""]
}

/** The counterexample as a table, replayed from the initial state. */
export function describeCounterexample(
  bounds: Bounds,
  bugs: ReadonlySet<BugName> | undefined,
  cex: Counterexample,
): string {
  const { states, violation } = replay(bounds, bugs, cex.actions)
  const rows: Row[] = [stepRow(0, undefined, states[0]!, states[0]!)]
  cex.actions.forEach((action, k) => {
    const before = states[k]!
    const after = states[k + 1]
    if (after !== undefined) rows.push(stepRow(k + 1, action, before, after))
    else if (before !== undefined) rows.push(throwingRow(k + 1, action, before))
  })
  const header: Row = ["step", "server", "action", "role", "term", "log", "commit"]
  const threw = states.length <= cex.actions.length
  const found = violation ?? { invariant: "none on replay (a fingerprint collision?)", detail: "" }
  const detail = found.detail === "" ? "" : `: ${found.detail.split("\n")[0]}`
  return [
    formatTable(header, rows),
    `violation: ${found.invariant}${detail}`,
    threw ? "state before the failing step:" : "final state:",
    finalStates(states[states.length - 1]!),
  ].join("\n")
}
