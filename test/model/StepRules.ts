// Action properties that need to know the action, taken from the step rules of the protocol
// contract (.design/PROTOCOL.md). They check that the code takes the spec's step for one
// variable, where no state invariant could tell: a follower that commits entries it does not
// know to match may still commit only entries that happen to match, so every state stays safe.
import { type Action, actionMessage } from "./Actions.ts"
import type { Violation } from "./Invariants.ts"
import type { ModelState } from "./ModelState.ts"

/**
 * HandleAppendEntriesRequest: commitIndex' = Max(commitIndex, Min(m.commitIndex,
 * m.prevLogIndex + Len(m.entries))) when accepted, unchanged otherwise; never more.
 */
function appendEntriesCommitRule(
  before: ModelState,
  after: ModelState,
  action: Action,
): string | undefined {
  if (action.kind !== "Deliver") return undefined
  const m = actionMessage(before, action)!
  if (m.type !== "AppendEntriesRequest") return undefined
  const was = before.cluster.servers.get(m.to)!.raft.log.commitIndex
  const now = after.cluster.servers.get(m.to)!.raft.log.commitIndex
  const lastNew = m.prevLogIndex + m.entries.length
  const allowed = Math.max(was, Math.min(m.commitIndex, lastNew))
  if (now <= allowed) return undefined
  return `server ${m.to} committed ${now} on an append that matched up to ${lastNew} ` +
    `(leader commit ${m.commitIndex}, own commit was ${was})`
}

export function checkStepRules(
  before: ModelState,
  after: ModelState,
  action: Action,
): Violation | undefined {
  const detail = appendEntriesCommitRule(before, after, action)
  return detail === undefined ? undefined : { invariant: "AppendEntriesCommitRule", detail }
}
