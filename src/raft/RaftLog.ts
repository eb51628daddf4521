// The log of one server: a snapshot (the compacted prefix) followed by entries kept in memory.
// Appends, truncation and lookups are O(1); compaction costs the entries it drops. The log is
// mutated in place (never copied per step); `cloneRaftLog` exists for the model checker.
//
// Invariants (asserted by checkRaftLog):
//   snapshot.index <= applied <= applying <= commitIndex <= lastIndex
//   stableIndex < unstableFrom <= lastIndex + 1   (entries at >= unstableFrom are not yet in a Ready)
//   entries[k].index = snapshot.index + 1 + k, and terms never decrease along the log
//   configIndexes lists exactly the indexes of Config entries in `entries`, ascending
import { assert } from "../assert.ts"
import type { Config, Entry, LogIndex, Snapshot, Term } from "./Types.ts"

export interface RaftLog {
  snapshot: Snapshot
  entries: Entry[]
  /** Highest index known committed (spec: commitIndex). */
  commitIndex: LogIndex
  /** Highest index handed to the application in a Ready. */
  applyingIndex: LogIndex
  /** Highest index the application reported applied. */
  appliedIndex: LogIndex
  /** Highest index known durable on this server. */
  stableIndex: LogIndex
  /** First index not yet handed out in a Ready for persisting. */
  unstableFrom: LogIndex
  /** Indexes of the Config entries in `entries`, ascending; the last one is in force. */
  configIndexes: LogIndex[]
}

export function newRaftLog(snapshot: Snapshot, entries: ReadonlyArray<Entry>, commitIndex: LogIndex): RaftLog {
  const log: RaftLog = {
    snapshot,
    entries: [],
    commitIndex: snapshot.meta.index,
    applyingIndex: snapshot.meta.index,
    appliedIndex: snapshot.meta.index,
    stableIndex: snapshot.meta.index,
    unstableFrom: (snapshot.meta.index + 1) as LogIndex,
    configIndexes: [],
  }
  for (const entry of entries) pushEntry(log, entry)
  log.stableIndex = lastIndex(log)
  log.unstableFrom = (lastIndex(log) + 1) as LogIndex
  assert(commitIndex <= lastIndex(log), "persisted commitIndex beyond the persisted log")
  log.commitIndex = Math.max(commitIndex, snapshot.meta.index) as LogIndex
  return log
}

export function cloneRaftLog(log: RaftLog): RaftLog {
  return { ...log, entries: log.entries.slice(), configIndexes: log.configIndexes.slice() }
}

export const firstIndex = (log: RaftLog): LogIndex => (log.snapshot.meta.index + 1) as LogIndex
export const lastIndex = (log: RaftLog): LogIndex =>
  (log.snapshot.meta.index + log.entries.length) as LogIndex

export function lastTerm(log: RaftLog): Term {
  const last = log.entries[log.entries.length - 1]
  return last === undefined ? log.snapshot.meta.term : last.term
}

/** The term of the entry at `index`, or undefined if it is compacted away or past the end. */
export function termAt(log: RaftLog, index: LogIndex): Term | undefined {
  const offset = log.snapshot.meta.index
  if (index === offset) return log.snapshot.meta.term
  if (index < offset) return undefined
  return log.entries[index - offset - 1]?.term
}

export function entryAt(log: RaftLog, index: LogIndex): Entry {
  const entry = log.entries[index - log.snapshot.meta.index - 1]
  assert(entry !== undefined, "entryAt: index outside the log")
  return entry
}

export function matchTerm(log: RaftLog, index: LogIndex, term: Term): boolean {
  return termAt(log, index) === term
}

/** Entries in [from, to], inclusive; `from` must not be compacted. */
export function sliceEntries(log: RaftLog, from: LogIndex, to: LogIndex): Entry[] {
  assert(from > log.snapshot.meta.index, "sliceEntries: from is compacted")
  const offset = log.snapshot.meta.index + 1
  return log.entries.slice(from - offset, to - offset + 1)
}

/** The configuration in force: the last Config entry of the log, else the snapshot's. */
export function currentConfig(log: RaftLog): Config {
  const last = log.configIndexes[log.configIndexes.length - 1]
  if (last === undefined) return log.snapshot.meta.config
  const config = entryAt(log, last).config
  assert(config !== undefined, "Config entry without a config")
  return config
}

/** Whether a Config entry sits above commitIndex (a change still in flight). */
export function hasUncommittedConfig(log: RaftLog): boolean {
  const last = log.configIndexes[log.configIndexes.length - 1]
  return last !== undefined && last > log.commitIndex
}

/** Appends at the end; the caller has resolved conflicts. */
export function appendEntry(log: RaftLog, entry: Entry): void {
  assert(entry.index === lastIndex(log) + 1, "appendEntry: not contiguous")
  assert(entry.term >= lastTerm(log), "appendEntry: term goes backwards")
  pushEntry(log, entry)
}

function pushEntry(log: RaftLog, entry: Entry): void {
  log.entries.push(entry)
  if (entry.type === "Config") log.configIndexes.push(entry.index)
}

/** Drops every entry at `index` and above. Committed entries are never truncated. */
export function truncateFrom(log: RaftLog, index: LogIndex): void {
  assert(index > log.commitIndex, "truncateFrom: would drop committed entries")
  log.entries.length = index - log.snapshot.meta.index - 1
  while ((log.configIndexes[log.configIndexes.length - 1] ?? 0) >= index) log.configIndexes.pop()
  if (log.stableIndex >= index) log.stableIndex = (index - 1) as LogIndex
  if (log.unstableFrom > index) log.unstableFrom = index
}

/** Replaces the prefix up to `snapshot.meta.index` with the snapshot (local compaction). */
export function compactTo(log: RaftLog, snapshot: Snapshot): void {
  const index = snapshot.meta.index
  assert(index > log.snapshot.meta.index, "compactTo: not ahead of the current snapshot")
  assert(index <= log.appliedIndex, "compactTo: snapshot beyond what the application applied")
  assert(termAt(log, index) === snapshot.meta.term, "compactTo: snapshot term mismatch")
  log.entries.splice(0, index - log.snapshot.meta.index)
  while ((log.configIndexes[0] ?? Infinity) <= index) log.configIndexes.shift()
  log.snapshot = snapshot
}

/** Discards the whole log in favour of a snapshot received from the leader. */
export function restoreSnapshot(log: RaftLog, snapshot: Snapshot): void {
  const index = snapshot.meta.index
  log.snapshot = snapshot
  log.entries = []
  log.configIndexes = []
  log.commitIndex = index
  log.applyingIndex = index
  log.appliedIndex = index
  log.stableIndex = index
  log.unstableFrom = (index + 1) as LogIndex
}

export function checkRaftLog(log: RaftLog): void {
  const snap = log.snapshot.meta.index
  const last = lastIndex(log)
  assert(snap <= log.appliedIndex, "log: applied below snapshot")
  assert(log.appliedIndex <= log.applyingIndex, "log: applied above applying")
  assert(log.applyingIndex <= log.commitIndex, "log: applying past commitIndex")
  assert(log.commitIndex <= last, "log: commitIndex past lastIndex")
  assert(log.stableIndex < log.unstableFrom, "log: stable entries not handed out")
  assert(log.unstableFrom <= last + 1, "log: unstableFrom past the end")
  let prevTerm = log.snapshot.meta.term
  const configs: LogIndex[] = []
  log.entries.forEach((entry, k) => {
    assert(entry.index === snap + 1 + k, "log: index gap")
    assert(entry.term >= prevTerm, "log: terms decrease")
    if (entry.type === "Config") configs.push(entry.index)
    prevTerm = entry.term
  })
  assert(configs.join() === log.configIndexes.join(), "log: configIndexes out of date")
}
