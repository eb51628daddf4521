// The JSON lines of a server trace (--experimental-trace-file), besides the core's spec-action
// events (src/raft/TraceJson.ts encodeCoreEvent, lines with "action"). Node-loop lines have
// "kind" instead; src/check/server-trace-format.ts reads them back, src/check/node-loop.ts
// checks them.
//
//   {"kind":"Start","node":i,"preVote":b,"checkQuorum":b,"hardState":H,"snapshotIndex":n,
//    "snapshotTerm":t,"lastIndex":n,"lastTerm":t}           what the node recovered from disk
//   {"kind":"Saved","node":i,"hardState":H?,"firstIndex":n?,"lastIndex":n?,"lastTerm":t?,"sync":b}
//   {"kind":"SnapshotSaved","node":i,"index":n,"term":t,"installed":b}
//   {"kind":"Sent","node":i,"afterPersist":b,"messages":[M...]}
//   {"kind":"Applied","node":i,"index":n,"term":t}
//   {"kind":"Answered","node":i,"requestId":"<decimal>","index":n}
//
// H is {currentTerm,votedFor,commitIndex}; M a message as the core's lines encode it. Absent
// fields are left out (no null, as in the simulator's traces).
import type { RaftOptions, Storage } from "../raft/Api.ts"
import { encodeMessage, type Json } from "../raft/TraceJson.ts"
import type { HardState } from "../raft/Types.ts"
import type { NodeLoopEvent } from "./NodeTrace.ts"

const encodeHardState = (h: HardState): Json =>
  ({ currentTerm: h.currentTerm, votedFor: h.votedFor, commitIndex: h.commitIndex })

/** The first line of each start of a member: the durable state the node begins from. */
export function encodeStart(options: RaftOptions, recovered: Storage): Json {
  const last = recovered.entries[recovered.entries.length - 1]
  return {
    kind: "Start",
    node: options.id,
    preVote: options.preVote,
    checkQuorum: options.checkQuorum,
    hardState: encodeHardState(recovered.hardState),
    snapshotIndex: recovered.snapshot.meta.index,
    snapshotTerm: recovered.snapshot.meta.term,
    lastIndex: last?.index ?? recovered.snapshot.meta.index,
    lastTerm: last?.term ?? recovered.snapshot.meta.term,
  }
}

export function encodeNodeLoopEvent(event: NodeLoopEvent): Json {
  switch (event.kind) {
    case "Saved":
      return {
        kind: event.kind,
        node: event.node,
        ...(event.hardState === undefined ? {} : { hardState: encodeHardState(event.hardState) }),
        ...(event.firstIndex === undefined ? {} : { firstIndex: event.firstIndex }),
        ...(event.lastIndex === undefined ? {} : { lastIndex: event.lastIndex }),
        ...(event.lastTerm === undefined ? {} : { lastTerm: event.lastTerm }),
        sync: event.sync,
      }
    case "SnapshotSaved": {
      const { kind, node, index, term, installed } = event
      return { kind, node, index, term, installed }
    }
    case "Sent": {
      const { kind, node, afterPersist } = event
      return { kind, node, afterPersist, messages: event.messages.map((m) => encodeMessage(m)) }
    }
    case "Applied":
      return { kind: event.kind, node: event.node, index: event.index, term: event.term }
    case "Answered":
      return { kind: event.kind, node: event.node, requestId: String(event.requestId), index: event.index }
  }
}
