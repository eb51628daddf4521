// The binary form of every Raft message. Layout: a type code (u8), from, to and term (varints),
// then the type's fields in declaration order. Booleans of one message share a flags byte.
// Entry and snapshot data are raw length-prefixed bytes. An InstallSnapshotRequest too large for
// one frame travels as its head (everything but the data, plus the data's length) followed by
// chunk frames; the head is the inline encoding cut before the data bytes.
import { assertNever } from "../../assert.ts"
import type {
  Config, Entry, InstallSnapshotRequest, Message, MessageType, NodeId, SnapshotMeta, Term,
} from "../../raft/Types.ts"
import { logIndex, nodeId, term } from "../../raft/Types.ts"
import type { ByteReader } from "./ByteReader.ts"
import type { ByteWriter } from "./ByteWriter.ts"
import { PeerProtocolError } from "./ProtocolError.ts"

const typeCodes = {
  RequestVoteRequest: 1,
  RequestVoteResponse: 2,
  AppendEntriesRequest: 3,
  AppendEntriesResponse: 4,
  HeartbeatRequest: 5,
  HeartbeatResponse: 6,
  InstallSnapshotRequest: 7,
  TimeoutNowRequest: 8,
} as const satisfies Record<MessageType, number>

const flagFirst = 1
const flagSecond = 2
const entryFlagConfigType = 1
const entryFlagHasConfig = 2

function writeIds(w: ByteWriter, ids: ReadonlyArray<NodeId>): void {
  w.varint(ids.length)
  for (const id of ids) w.varint(id)
}

function writeConfig(w: ByteWriter, c: Config): void {
  writeIds(w, c.voters)
  writeIds(w, c.votersOutgoing)
  writeIds(w, c.learners)
}

function writeEntry(w: ByteWriter, e: Entry): void {
  w.varint(e.term)
  w.varint(e.index)
  const typeFlag = e.type === "Config" ? entryFlagConfigType : 0
  w.u8(typeFlag | (e.config !== undefined ? entryFlagHasConfig : 0))
  if (e.config !== undefined) writeConfig(w, e.config)
  w.byteString(e.data)
}

function writeSnapshotMeta(w: ByteWriter, meta: SnapshotMeta): void {
  w.varint(meta.index)
  w.varint(meta.term)
  writeConfig(w, meta.config)
}

/** Everything of an InstallSnapshotRequest but its data bytes; the data's length comes last. */
export function encodeSnapshotHead(w: ByteWriter, m: InstallSnapshotRequest): void {
  w.u8(typeCodes.InstallSnapshotRequest)
  w.varint(m.from)
  w.varint(m.to)
  w.varint(m.term)
  writeSnapshotMeta(w, m.snapshot.meta)
  w.varint(m.snapshot.data.length)
}

export function encodeMessage(w: ByteWriter, m: Message): void {
  if (m.type === "InstallSnapshotRequest") {
    encodeSnapshotHead(w, m)
    w.raw(m.snapshot.data)
    return
  }
  w.u8(typeCodes[m.type])
  w.varint(m.from)
  w.varint(m.to)
  w.varint(m.term)
  switch (m.type) {
    case "RequestVoteRequest":
      w.u8((m.preVote ? flagFirst : 0) | (m.leaderTransfer ? flagSecond : 0))
      w.varint(m.lastLogIndex)
      w.varint(m.lastLogTerm)
      return
    case "RequestVoteResponse":
      w.u8((m.preVote ? flagFirst : 0) | (m.voteGranted ? flagSecond : 0))
      return
    case "AppendEntriesRequest":
      w.varint(m.prevLogIndex)
      w.varint(m.prevLogTerm)
      w.varint(m.commitIndex)
      w.varint(m.entries.length)
      for (const e of m.entries) writeEntry(w, e)
      return
    case "AppendEntriesResponse":
      w.u8(m.success ? flagFirst : 0)
      w.varint(m.matchIndex)
      w.varint(m.hintIndex)
      return
    case "HeartbeatRequest":
      w.varint(m.commitIndex)
      w.varint(m.context)
      return
    case "HeartbeatResponse":
      w.varint(m.context)
      return
    case "TimeoutNowRequest":
      return
    default:
      assertNever(m, "message type")
  }
}

// ---- decoding (untrusted input: every failure is a PeerProtocolError) ----

function readFlags(r: ByteReader, allowed: number, what: string): number {
  const flags = r.u8(what)
  if ((flags & ~allowed) !== 0) throw new PeerProtocolError(`${what}: unknown flag bits ${flags}`)
  return flags
}

function readIds(r: ByteReader, what: string): NodeId[] {
  const count = r.count(what, 1)
  const ids: NodeId[] = []
  for (let k = 0; k < count; k++) ids.push(nodeId(r.varint(what)))
  return ids
}

function readConfig(r: ByteReader): Config {
  const voters = readIds(r, "config voters")
  const votersOutgoing = readIds(r, "config outgoing voters")
  const learners = readIds(r, "config learners")
  return { voters, votersOutgoing, learners }
}

function readEntry(r: ByteReader): Entry {
  const entryTerm = term(r.varint("entry term"))
  const index = logIndex(r.varint("entry index"))
  const flags = readFlags(r, entryFlagConfigType | entryFlagHasConfig, "entry flags")
  const config = (flags & entryFlagHasConfig) !== 0 ? readConfig(r) : undefined
  const data = r.byteString("entry data")
  const type = (flags & entryFlagConfigType) !== 0 ? "Config" : "Normal"
  return { term: entryTerm, index, type, data, config }
}

export interface SnapshotHead {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: Term
  readonly meta: SnapshotMeta
  readonly dataBytes: number
}

function readSnapshotHeadAfterBase(r: ByteReader, from: NodeId, to: NodeId, t: Term): SnapshotHead {
  const index = logIndex(r.varint("snapshot index"))
  const snapshotTerm = term(r.varint("snapshot term"))
  const config = readConfig(r)
  const dataBytes = r.varint("snapshot data length")
  return { from, to, term: t, meta: { index, term: snapshotTerm, config }, dataBytes }
}

/** The payload of a snapshot head frame (see encodeSnapshotHead). */
export function decodeSnapshotHead(r: ByteReader): SnapshotHead {
  const code = r.u8("message type")
  if (code !== typeCodes.InstallSnapshotRequest) {
    throw new PeerProtocolError(`snapshot head of message type ${code}`)
  }
  const from = nodeId(r.varint("from"))
  const to = nodeId(r.varint("to"))
  const head = readSnapshotHeadAfterBase(r, from, to, term(r.varint("term")))
  r.expectEnd("snapshot head")
  return head
}

export function decodeMessage(r: ByteReader): Message {
  const code = r.u8("message type")
  const from = nodeId(r.varint("from"))
  const to = nodeId(r.varint("to"))
  const t = term(r.varint("term"))
  const message = decodeBody(r, code, from, to, t)
  r.expectEnd(message.type)
  return message
}

function decodeBody(r: ByteReader, code: number, from: NodeId, to: NodeId, t: Term): Message {
  switch (code) {
    case typeCodes.RequestVoteRequest: {
      const flags = readFlags(r, flagFirst | flagSecond, "RequestVoteRequest flags")
      const lastLogIndex = logIndex(r.varint("lastLogIndex"))
      const lastLogTerm = term(r.varint("lastLogTerm"))
      return {
        type: "RequestVoteRequest", from, to, term: t, preVote: (flags & flagFirst) !== 0,
        lastLogIndex, lastLogTerm, leaderTransfer: (flags & flagSecond) !== 0,
      }
    }
    case typeCodes.RequestVoteResponse: {
      const flags = readFlags(r, flagFirst | flagSecond, "RequestVoteResponse flags")
      return {
        type: "RequestVoteResponse", from, to, term: t,
        preVote: (flags & flagFirst) !== 0, voteGranted: (flags & flagSecond) !== 0,
      }
    }
    case typeCodes.AppendEntriesRequest: {
      const prevLogIndex = logIndex(r.varint("prevLogIndex"))
      const prevLogTerm = term(r.varint("prevLogTerm"))
      const commitIndex = logIndex(r.varint("commitIndex"))
      // An entry takes at least 4 bytes: term, index, flags and a data length.
      const count = r.count("entry count", 4)
      const entries: Entry[] = []
      for (let k = 0; k < count; k++) entries.push(readEntry(r))
      return {
        type: "AppendEntriesRequest", from, to, term: t,
        prevLogIndex, prevLogTerm, entries, commitIndex,
      }
    }
    case typeCodes.AppendEntriesResponse: {
      const flags = readFlags(r, flagFirst, "AppendEntriesResponse flags")
      const matchIndex = logIndex(r.varint("matchIndex"))
      const hintIndex = logIndex(r.varint("hintIndex"))
      const success = flags === flagFirst
      return { type: "AppendEntriesResponse", from, to, term: t, success, matchIndex, hintIndex }
    }
    case typeCodes.HeartbeatRequest: {
      const commitIndex = logIndex(r.varint("commitIndex"))
      const context = r.varint("context")
      return { type: "HeartbeatRequest", from, to, term: t, commitIndex, context }
    }
    case typeCodes.HeartbeatResponse:
      return { type: "HeartbeatResponse", from, to, term: t, context: r.varint("context") }
    case typeCodes.InstallSnapshotRequest: {
      const head = readSnapshotHeadAfterBase(r, from, to, t)
      const data = r.bytesOf(head.dataBytes, "snapshot data")
      const snapshot = { meta: head.meta, data }
      return { type: "InstallSnapshotRequest", from, to, term: t, snapshot }
    }
    case typeCodes.TimeoutNowRequest:
      return { type: "TimeoutNowRequest", from, to, term: t }
    default:
      throw new PeerProtocolError(`unknown message type ${code}`)
  }
}
