// The spec's invariants (spec/Raft.tla), checked on a whole cluster of real src/raft servers.
// Names are the spec's in camelCase. State invariants look at one cluster state; transition
// properties compare the states before and after one step.
import type { RaftState } from "../../src/raft/Raft.ts"
import { lastIndex } from "../../src/raft/RaftLog.ts"
import type { Entry, NodeId } from "../../src/raft/Types.ts"
import type { ClusterState } from "./Cluster.ts"

export interface Violation {
  readonly invariant: string
  readonly detail: string
}

type Check = (c: ClusterState) => string | undefined
type TransitionCheck = (before: ClusterState, after: ClusterState) => string | undefined

const rafts = (c: ClusterState): RaftState[] => [...c.servers.values()].map((s) => s.raft)

function entryAt(r: RaftState, index: number): Entry | undefined {
  const at = index - r.log.snapshot.meta.index - 1
  return at < 0 ? undefined : r.log.entries[at]
}

function sameEntry(a: Entry, b: Entry): boolean {
  if (a.term !== b.term || a.type !== b.type || a.data.length !== b.data.length) return false
  if (!a.data.every((byte, k) => byte === b.data[k])) return false
  return JSON.stringify(a.config) === JSON.stringify(b.config)
}

/** At most one leader per term. */
export const electionSafety: Check = (c) => {
  const leaders = new Map<number, NodeId>()
  for (const r of rafts(c)) {
    if (r.role !== "Leader") continue
    const other = leaders.get(r.currentTerm)
    if (other !== undefined) return `servers ${other} and ${r.id} both lead term ${r.currentTerm}`
    leaders.set(r.currentTerm, r.id)
  }
  return undefined
}

/** If two logs hold an entry with the same index and term, they agree on everything up to it. */
export const logMatching: Check = (c) => {
  const all = rafts(c)
  for (const a of all) {
    for (const b of all) {
      if (a.id >= b.id) continue
      const low = Math.max(a.log.snapshot.meta.index, b.log.snapshot.meta.index) + 1
      const high = Math.min(lastIndex(a.log), lastIndex(b.log))
      let matched = false
      for (let k = high; k >= low; k--) {
        const ea = entryAt(a, k)!
        const eb = entryAt(b, k)!
        if (!matched && ea.term === eb.term) matched = true
        if (matched && !sameEntry(ea, eb)) {
          return `servers ${a.id} and ${b.id} share an entry of the same term above index ${k} but differ at ${k}`
        }
      }
    }
  }
  return undefined
}

/**
 * A leader holds every entry committed before its term began. Without a history variable we use
 * a sound under-approximation: if server j knows index k is committed and the leader's term is
 * above j's term, the leader holds j's entry k.
 */
export const leaderCompleteness: Check = (c) => {
  for (const leader of rafts(c)) {
    if (leader.role !== "Leader") continue
    for (const j of rafts(c)) {
      if (leader.currentTerm <= j.currentTerm) continue
      const low = Math.max(leader.log.snapshot.meta.index, j.log.snapshot.meta.index) + 1
      for (let k = low; k <= j.log.commitIndex; k++) {
        const mine = entryAt(leader, k)
        if (mine === undefined || !sameEntry(mine, entryAt(j, k)!)) {
          return `leader ${leader.id} (term ${leader.currentTerm}) lacks entry ${k} committed at server ${j.id}`
        }
      }
    }
  }
  return undefined
}

/** Servers apply the same value at every index, and committed log entries agree. */
export const stateMachineSafety: Check = (c) => {
  const servers = [...c.servers.values()]
  for (const a of servers) {
    for (const b of servers) {
      if (a.raft.id >= b.raft.id) continue
      const common = Math.min(a.applied.length, b.applied.length)
      for (let k = 0; k < common; k++) {
        if (a.applied[k] !== b.applied[k]) {
          return `servers ${a.raft.id} and ${b.raft.id} applied different values at index ${k + 1}`
        }
      }
      const low = Math.max(a.raft.log.snapshot.meta.index, b.raft.log.snapshot.meta.index) + 1
      const high = Math.min(a.raft.log.commitIndex, b.raft.log.commitIndex)
      for (let k = low; k <= high; k++) {
        if (!sameEntry(entryAt(a.raft, k)!, entryAt(b.raft, k)!)) {
          return `servers ${a.raft.id} and ${b.raft.id} committed different entries at index ${k}`
        }
      }
    }
  }
  return undefined
}

export const commitIndexInLog: Check = (c) => {
  for (const r of rafts(c)) {
    if (r.log.commitIndex > lastIndex(r.log)) return `server ${r.id} commitIndex beyond its log`
  }
  return undefined
}

/** A leader has at most one Config entry above its commitIndex. */
export const atMostOneUnappliedConfigChange: Check = (c) => {
  for (const r of rafts(c)) {
    if (r.role !== "Leader") continue
    const pending = r.log.configIndexes.filter((k) => k > r.log.commitIndex).length
    if (pending > 1) return `leader ${r.id} has ${pending} configuration changes in flight`
  }
  return undefined
}

/** A ReadIndex answer is at least every index committed before the read began. */
export const readSafety: Check = (c) => {
  for (const read of c.reads) {
    if (read.index !== undefined && read.index < read.committedAtStart) {
      return `read ${read.context} on server ${read.server} answered index ${read.index} but ${read.committedAtStart} was committed before it began`
    }
  }
  return undefined
}

export const stateInvariants: ReadonlyArray<readonly [string, Check]> = [
  ["ElectionSafety", electionSafety],
  ["LogMatching", logMatching],
  ["LeaderCompleteness", leaderCompleteness],
  ["StateMachineSafety", stateMachineSafety],
  ["CommitIndexInLog", commitIndexInLog],
  ["AtMostOneUnappliedConfigChange", atMostOneUnappliedConfigChange],
  ["ReadSafety", readSafety],
]

/** A leader never overwrites or deletes its entries while it leads the same term. */
export const leaderAppendOnly: TransitionCheck = (before, after) => {
  for (const [id, s] of before.servers) {
    const a = s.raft
    const b = after.servers.get(id)!.raft
    if (a.role !== "Leader" || b.role !== "Leader" || a.currentTerm !== b.currentTerm) continue
    if (lastIndex(b.log) < lastIndex(a.log)) return `leader ${id} lost entries`
    const low = b.log.snapshot.meta.index + 1
    for (let k = low; k <= lastIndex(a.log); k++) {
      if (!sameEntry(entryAt(a, k)!, entryAt(b, k)!)) return `leader ${id} changed entry ${k}`
    }
  }
  return undefined
}

export const monotonicTerm: TransitionCheck = (before, after) => {
  for (const [id, s] of before.servers) {
    const was = s.raft.currentTerm
    const now = after.servers.get(id)!.raft.currentTerm
    if (now < was) return `server ${id} term went from ${was} to ${now}`
  }
  return undefined
}

export const monotonicCommitIndex: TransitionCheck = (before, after) => {
  for (const [id, s] of before.servers) {
    const was = s.raft.log.commitIndex
    const now = after.servers.get(id)!.raft.log.commitIndex
    if (now < was) return `server ${id} commitIndex went from ${was} to ${now}`
  }
  return undefined
}

export const transitionProperties: ReadonlyArray<readonly [string, TransitionCheck]> = [
  ["LeaderAppendOnly", leaderAppendOnly],
  ["MonotonicTerm", monotonicTerm],
  ["MonotonicCommitIndex", monotonicCommitIndex],
]

export function checkState(c: ClusterState): Violation | undefined {
  for (const [invariant, check] of stateInvariants) {
    const detail = check(c)
    if (detail !== undefined) return { invariant, detail }
  }
  return undefined
}

export function checkTransition(before: ClusterState, after: ClusterState): Violation | undefined {
  for (const [invariant, check] of transitionProperties) {
    const detail = check(before, after)
    if (detail !== undefined) return { invariant, detail }
  }
  return undefined
}

