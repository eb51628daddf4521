// The JSON encoding of trace events, shared by the simulator's traces (test/sim/TraceWriter.ts,
// checked by TLC against spec/TraceRaft.tla) and a server's --experimental-trace-file.
//
// An entry is {term,index,type,value,config}: value is the one-byte payload as a number (0 for a
// no-op and for Config entries: the spec's NoOp); config is {voters,votersOutgoing,learners}
// with sorted ids, and empty lists for Normal entries (the spec's NoConfig). Messages carry all
// their fields; an InstallSnapshotRequest carries the spec's snapshotIndex, snapshotTerm,
// snapshotConfig and the snapshot data as an array. No null appears anywhere (TLC's JSON reader
// has no value for it).
import type { TraceEvent, TracedState } from "./Trace.ts"
import type { Config, Entry, Message } from "./Types.ts"

export type Json = string | number | boolean | Json[] | { [key: string]: Json }

const noConfig: Config = { voters: [], votersOutgoing: [], learners: [] }

export function encodeConfig(config: Config): Json {
  return { voters: [...config.voters], votersOutgoing: [...config.votersOutgoing], learners: [...config.learners] }
}

export function encodeEntry(entry: Entry): Json {
  const value = entry.type === "Normal" && entry.data.length > 0 ? entry.data[0]! : 0
  return { term: entry.term, index: entry.index, type: entry.type, value, config: encodeConfig(entry.config ?? noConfig) }
}

export function encodeMessage(m: Message): Json {
  switch (m.type) {
    case "AppendEntriesRequest":
      return { ...m, entries: m.entries.map(encodeEntry) }
    case "InstallSnapshotRequest": {
      const { snapshot, ...rest } = m
      return {
        ...rest,
        snapshotIndex: snapshot.meta.index,
        snapshotTerm: snapshot.meta.term,
        snapshotConfig: encodeConfig(snapshot.meta.config),
        snapshotData: Array.from(snapshot.data),
      }
    }
    default:
      return { ...m }
  }
}

export function encodeState(state: TracedState): Json {
  return { ...state, log: state.log.map(encodeEntry), config: encodeConfig(state.config) }
}

/** {"action":A,"server":i,"message":M?,"params":{...}?,"reply":M?,"state":S} */
export function encodeCoreEvent(event: TraceEvent): Json {
  return {
    action: event.action,
    server: event.server,
    ...(event.message === undefined ? {} : { message: encodeMessage(event.message) }),
    ...(event.params === undefined ? {} : { params: { ...event.params } }),
    ...(event.reply === undefined ? {} : { reply: encodeMessage(event.reply) }),
    state: encodeState(event.state),
  }
}
