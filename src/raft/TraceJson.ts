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

/**
 * How payloads are encoded. The default (the pure core's one-byte payloads): an entry's value is
 * its first data byte, a snapshot's data the whole array. The cluster simulator (test/dst) has
 * long KV payloads and snapshots, so it encodes a digest of each instead (the spec compares
 * values only for equality and never reads snapshot data).
 */
export interface TraceEncoding {
  /** The value (1..255) of a Normal entry with data. */
  readonly value: (data: Uint8Array) => number
  readonly snapshotData: (data: Uint8Array) => Json
}

export const defaultEncoding: TraceEncoding = {
  value: (data) => data[0]!,
  snapshotData: (data) => Array.from(data),
}

export function encodeConfig(config: Config): Json {
  return { voters: [...config.voters], votersOutgoing: [...config.votersOutgoing], learners: [...config.learners] }
}

export function encodeEntry(entry: Entry, encoding: TraceEncoding = defaultEncoding): Json {
  const value = entry.type === "Normal" && entry.data.length > 0 ? encoding.value(entry.data) : 0
  return { term: entry.term, index: entry.index, type: entry.type, value, config: encodeConfig(entry.config ?? noConfig) }
}

export function encodeMessage(m: Message, encoding: TraceEncoding = defaultEncoding): Json {
  switch (m.type) {
    case "AppendEntriesRequest":
      return { ...m, entries: m.entries.map((e) => encodeEntry(e, encoding)) }
    case "InstallSnapshotRequest": {
      const { snapshot, ...rest } = m
      return {
        ...rest,
        snapshotIndex: snapshot.meta.index,
        snapshotTerm: snapshot.meta.term,
        snapshotConfig: encodeConfig(snapshot.meta.config),
        snapshotData: encoding.snapshotData(snapshot.data),
      }
    }
    default:
      return { ...m }
  }
}

export function encodeState(state: TracedState, encoding: TraceEncoding = defaultEncoding): Json {
  return { ...state, log: state.log.map((e) => encodeEntry(e, encoding)), config: encodeConfig(state.config) }
}

/** {"action":A,"server":i,"message":M?,"params":{...}?,"reply":M?,"state":S} */
export function encodeCoreEvent(event: TraceEvent, encoding: TraceEncoding = defaultEncoding): Json {
  return {
    action: event.action,
    server: event.server,
    ...(event.message === undefined ? {} : { message: encodeMessage(event.message, encoding) }),
    ...(event.params === undefined ? {} : { params: { ...event.params } }),
    ...(event.reply === undefined ? {} : { reply: encodeMessage(event.reply, encoding) }),
    state: encodeState(event.state, encoding),
  }
}
