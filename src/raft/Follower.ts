// The follower's side of replication: accepting appends, heartbeats and snapshots.
import { assert } from "../assert.ts"
import { hasBug, type RaftState, send, trace } from "./Raft.ts"
import {
  appendEntry,
  lastIndex,
  matchTerm,
  restoreSnapshot,
  termAt,
  truncateFrom,
} from "./RaftLog.ts"
import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  Entry,
  HeartbeatRequest,
  HeartbeatResponse,
  InstallSnapshotRequest,
  LogIndex,
} from "./Types.ts"

function heardFromLeader(r: RaftState, leader: RaftState["leaderId"]): void {
  assert(r.role === "Follower", "heardFromLeader: not a follower")
  r.leaderId = leader
  r.electionElapsedTicks = 0
}

function respond(
  r: RaftState,
  to: RaftState["id"],
  success: boolean,
  matchIndex: LogIndex,
  hintIndex: LogIndex,
): AppendEntriesResponse {
  const response: AppendEntriesResponse = {
    type: "AppendEntriesResponse",
    from: r.id,
    to,
    term: r.currentTerm,
    success,
    matchIndex,
    hintIndex,
  }
  send(r, response)
  return response
}

/** @spec Raft.tla HandleAppendEntriesRequest */
export function handleAppendEntriesRequest(r: RaftState, m: AppendEntriesRequest): void {
  heardFromLeader(r, m.from)
  const zero = 0 as LogIndex
  let reply: AppendEntriesResponse
  if (m.prevLogIndex < r.log.commitIndex) {
    // Everything up to commitIndex is settled; say so, and let the leader send what follows.
    reply = respond(r, m.from, true, r.log.commitIndex, zero)
  } else if (m.prevLogIndex <= lastIndex(r.log) && prevEntryMatches(r, m)) {
    mergeEntries(r, m.entries)
    const lastNewIndex = (m.prevLogIndex + m.entries.length) as LogIndex
    // Only entries known to match the leader may be committed: anything past lastNewIndex
    // could be a stale suffix from an older term.
    const limit = hasBug(r, "CommitBeyondMatch") ? lastIndex(r.log) : lastNewIndex
    commitTo(r, Math.min(m.commitIndex, limit) as LogIndex)
    reply = respond(r, m.from, true, lastNewIndex, zero)
  } else {
    reply = respond(r, m.from, false, m.prevLogIndex, lastIndex(r.log))
  }
  trace(r, "HandleAppendEntriesRequest", m, undefined, reply)
}

function prevEntryMatches(r: RaftState, m: AppendEntriesRequest): boolean {
  return hasBug(r, "SkipPrevLogCheck") || matchTerm(r.log, m.prevLogIndex, m.prevLogTerm)
}

/**
 * Appends what is new in `entries`. At the first entry whose term differs from ours, our suffix
 * from there is stale (Log Matching) and is replaced; entries we already hold are skipped, so a
 * delayed, shorter request never truncates.
 */
function mergeEntries(r: RaftState, entries: ReadonlyArray<Entry>): void {
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k]!
    const existing = termAt(r.log, entry.index)
    if (existing === entry.term) continue
    if (existing !== undefined) {
      if (hasBug(r, "NoConflictTruncation") && entry.index < lastIndex(r.log)) {
        overwriteKeepingSuffix(r, entry)
        continue
      }
      truncateFrom(r.log, entry.index)
    }
    for (let j = k; j < entries.length; j++) appendEntry(r.log, entries[j]!)
    return
  }
}

/** Bug zoo only (NoConflictTruncation): replaces one entry and leaves the stale entries after it. */
function overwriteKeepingSuffix(r: RaftState, entry: Entry): void {
  const log = r.log
  log.entries[entry.index - log.snapshot.meta.index - 1] = entry
  if (log.unstableFrom > entry.index) log.unstableFrom = entry.index
  if (log.stableIndex >= entry.index) log.stableIndex = (entry.index - 1) as LogIndex
}

function commitTo(r: RaftState, index: LogIndex): void {
  if (index <= r.log.commitIndex) return
  assert(index <= lastIndex(r.log), "commitTo: beyond the log")
  r.log.commitIndex = index
}

/**
 * A request from a leader of an older term: answer with our term (an acknowledgement that says
 * nothing about our log) so that the old leader steps down and a new election can include us.
 * @spec Raft.tla HandleStaleLeaderRequest
 */
export function handleStaleLeaderRequest(r: RaftState, m: AppendEntriesRequest | HeartbeatRequest): void {
  assert(m.term < r.currentTerm, "handleStaleLeaderRequest: request not stale")
  const zero = 0 as LogIndex
  const reply = respond(r, m.from, true, zero, zero)
  trace(r, "HandleStaleLeaderRequest", m, undefined, reply)
}

/** @spec Raft.tla HandleHeartbeatRequest */
export function handleHeartbeatRequest(r: RaftState, m: HeartbeatRequest): void {
  heardFromLeader(r, m.from)
  commitTo(r, Math.min(m.commitIndex, lastIndex(r.log)) as LogIndex)
  const reply: HeartbeatResponse = {
    type: "HeartbeatResponse",
    from: r.id,
    to: m.from,
    term: r.currentTerm,
    context: m.context,
  }
  send(r, reply)
  trace(r, "HandleHeartbeatRequest", m, undefined, reply)
}

/** @spec Raft.tla HandleInstallSnapshotRequest */
export function handleInstallSnapshotRequest(r: RaftState, m: InstallSnapshotRequest): void {
  heardFromLeader(r, m.from)
  const meta = m.snapshot.meta
  const zero = 0 as LogIndex
  let reply: AppendEntriesResponse
  if (meta.index <= r.log.commitIndex && !hasBug(r, "SnapshotDropsCommitted")) {
    reply = respond(r, m.from, true, r.log.commitIndex, zero)
  } else if (meta.index > r.log.commitIndex && matchTerm(r.log, meta.index, meta.term)) {
    // We already hold the snapshot's last entry: keep the log, just learn the commit.
    commitTo(r, meta.index)
    reply = respond(r, m.from, true, meta.index, zero)
  } else {
    restoreSnapshot(r.log, m.snapshot)
    r.snapshotToInstall = m.snapshot
    reply = respond(r, m.from, true, meta.index, zero)
  }
  trace(r, "HandleInstallSnapshotRequest", m, undefined, reply)
}
