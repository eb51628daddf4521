// Canonical keys and fingerprints of model states, up to renaming of server ids.
//
// A key holds every field that decides what a state can do next or what an invariant sees:
// servers' persistent and volatile Raft state, their storage and application, the network as a
// multiset, read records and the budgets spent. It leaves out timer counters and the PRNG (the
// model never lets a follower's timer run), except whether a follower's leader lease expired.
//
// Symmetry: renaming servers by a permutation that maps the initial configuration and every
// configuration change of the run onto themselves gives an equivalent state (the core never
// breaks ties by id). The fingerprint of a state is the least over those renamings, so
// equivalent states meet in the seen set. Every configuration a run can reach is built from the
// initial one and the change sets, so it is invariant under those renamings too: logs, snapshots
// and configs need no renaming. Each server and message therefore has an id-free key, cached on
// the (immutable once stored) object, and the ids it mentions are mixed in as numbers per renaming.
import type { ConfChange } from "../../src/raft/Api.ts"
import type { RaftState } from "../../src/raft/Raft.ts"
import type { Progress } from "../../src/raft/tracker/Progress.ts"
import type { Config, Entry, Message, NodeId, Snapshot } from "../../src/raft/Types.ts"
import type { Server } from "./Cluster.ts"
import type { ModelState, Spent } from "./ModelState.ts"

export interface Fingerprint {
  readonly hi: number
  readonly lo: number
}

/** A renaming of server ids: rename[id] is the new id (rename[0] = 0: Nil stays Nil). */
export type Renaming = ReadonlyArray<number>

// ---- Symmetries ----

function permutations(items: ReadonlyArray<number>): number[][] {
  if (items.length <= 1) return [items.slice()]
  const result: number[][] = []
  items.forEach((first, k) => {
    for (const tail of permutations(items.filter((_, j) => j !== k))) result.push([first, ...tail])
  })
  return result
}

const renameSorted = (ids: Iterable<number>, rename: Renaming): string =>
  [...ids].map((id) => rename[id]!).sort((a, b) => a - b).join(",")

const renamedConfig = (c: Config, rename: Renaming): string =>
  `${renameSorted(c.voters, rename)}/${renameSorted(c.votersOutgoing, rename)}/` +
  renameSorted(c.learners, rename)

const renamedChanges = (changes: ReadonlyArray<ConfChange>, rename: Renaming): string =>
  changes.map((c) => `${c.type}${rename[c.id]}`).sort().join(",")

/**
 * Renamings of `ids` (identity first) under which the initial configuration and every change
 * set map onto themselves; only those preserve the set of behaviours. Ids must be below 32.
 */
export function symmetries(
  ids: ReadonlyArray<NodeId>,
  initialConfig: Config,
  confChanges: ReadonlyArray<ReadonlyArray<ConfChange>>,
): Renaming[] {
  const sortedIds = [...ids].sort((a, b) => a - b)
  const identity: number[] = [0]
  for (const id of sortedIds) identity[id] = id
  const result: Renaming[] = []
  for (const image of permutations(sortedIds)) {
    const rename: number[] = [0]
    sortedIds.forEach((id, k) => (rename[id] = image[k]!))
    if (renamedConfig(initialConfig, rename) !== renamedConfig(initialConfig, identity)) continue
    if (confChanges.every((c) => renamedChanges(c, rename) === renamedChanges(c, identity))) {
      result.push(rename)
    }
  }
  return result
}

// ---- Hashing ----

/** Two 32-bit lanes (FNV-1a and a murmur-style mix) over a string; lo is never 0. */
export function fingerprintOf(key: string): Fingerprint {
  let a = 0x811c9dc5
  let b = 0x9747b28c
  for (let k = 0; k < key.length; k++) {
    const ch = key.charCodeAt(k)
    a = Math.imul(a ^ ch, 0x01000193)
    b = Math.imul(b ^ ch, 0x5bd1e995)
    b ^= b >>> 13
  }
  return { hi: finalize(a ^ key.length) >>> 0, lo: (finalize(b + a) | 1) >>> 0 }
}

function finalize(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r))

/** Murmur3-style streaming of 32-bit words into two lanes with different constants. */
class WordHasher {
  a = 0
  b = 0
  begin(): void {
    this.a = 0x2545f491
    this.b = 0x6c8e9cf5
  }
  feed(word: number): void {
    const ka = Math.imul(rotl(Math.imul(word, 0xcc9e2d51), 15), 0x1b873593)
    this.a = Math.imul(rotl(this.a ^ ka, 13), 5) + 0xe6546b64
    const kb = Math.imul(rotl(Math.imul(word, 0x85ebca77), 13), 0xc2b2ae3d)
    this.b = Math.imul(rotl(this.b ^ kb, 17), 9) + 0x165667b1
  }
  get hi(): number {
    return finalize(this.a ^ this.b) >>> 0
  }
  get lo(): number {
    return (finalize(this.b + rotl(this.a, 7)) | 1) >>> 0
  }
}

// ---- Id-free keys (the same under every renaming; cached on the objects) ----

const flag = (b: boolean): string => (b ? "1" : "0")
const bytesKey = (data: Uint8Array): string => data.join(".")
const entryKeySlot = Symbol("entryKey")
const messageSlot = Symbol("messageBodyFingerprint")

type Cached = { [entryKeySlot]?: string; [messageSlot]?: Fingerprint }

export const configKey = (c: Config): string =>
  `${c.voters.join(",")}/${c.votersOutgoing.join(",")}/${c.learners.join(",")}`

export function entryKey(e: Entry): string {
  const holder = e as Cached
  return (holder[entryKeySlot] ??= e.type === "Config"
    ? `${e.term}c${configKey(e.config!)}`
    : `${e.term}n${bytesKey(e.data)}`)
}

function entriesKey(entries: ReadonlyArray<Entry>): string {
  let key = ""
  for (const e of entries) key += ` ${entryKey(e)}`
  return key
}

const snapshotKey = (s: Snapshot): string =>
  `${s.meta.index}@${s.meta.term}:${configKey(s.meta.config)}:${bytesKey(s.data)}`

/** A message without its endpoints (which are renamed separately). */
export function messageBodyKey(m: Message): string {
  switch (m.type) {
    case "RequestVoteRequest":
      return `RV${m.term}:${flag(m.preVote)}${flag(m.leaderTransfer)}:` +
        `${m.lastLogIndex}:${m.lastLogTerm}`
    case "RequestVoteResponse":
      return `rv${m.term}:${flag(m.preVote)}${flag(m.voteGranted)}`
    case "AppendEntriesRequest":
      return `AE${m.term}:${m.prevLogIndex}:${m.prevLogTerm}:${m.commitIndex}:` +
        entriesKey(m.entries)
    case "AppendEntriesResponse":
      return `ae${m.term}:${flag(m.success)}:${m.matchIndex}:${m.hintIndex}`
    case "HeartbeatRequest":
      return `HB${m.term}:${m.commitIndex}:${m.context}`
    case "HeartbeatResponse":
      return `hb${m.term}:${m.context}`
    case "InstallSnapshotRequest":
      return `IS${m.term}:${snapshotKey(m.snapshot)}`
    case "TimeoutNowRequest":
      return `TN${m.term}`
  }
}

/** A message with its endpoints, for telling messages in one network apart. */
export const messageKey = (m: Message): string => `${m.from}>${m.to}:${messageBodyKey(m)}`

const progressKey = (p: Progress): string =>
  `${p.state}:${p.matchIndex}:${p.nextIndex}:${p.inflight.join(",")}:` +
  `${flag(p.probeSent)}${flag(p.recentActive)}:${p.pendingSnapshot}`

function logKey(r: RaftState): string {
  const log = r.log
  return `${snapshotKey(log.snapshot)}|${entriesKey(log.entries)}|${log.commitIndex}:` +
    `${log.applyingIndex}:${log.appliedIndex}:${log.stableIndex}:${log.unstableFrom}`
}

/**
 * Storage: the hard state (its vote is renamed separately), and the snapshot and entries that
 * memory no longer holds. The cluster persists every Ready in the same turn, so the stored
 * entries past memory's snapshot are memory's entries (Explorer checks that the lengths agree).
 */
function storageKey(s: Server): string {
  const st = s.storage
  const hs = `${st.hardState.currentTerm}:${st.hardState.commitIndex}`
  const memorySnapshot = s.raft.log.snapshot
  if (st.snapshot === memorySnapshot) return hs
  const compacted = memorySnapshot.meta.index - st.snapshot.meta.index
  return `${hs}|${snapshotKey(st.snapshot)}|${entriesKey(st.entries.slice(0, compacted))}`
}

/** Everything of a server but the ids it mentions (its own, votes, progress peers, acks...). */
export function serverBodyKey(s: Server): string {
  const r = s.raft
  const lease = r.electionElapsedTicks >= r.options.electionTimeoutTicks
  const reads = r.readRequests.map((q) => `${q.context}:${q.index}`).join(",")
  const postponed = r.postponedReadContexts.join(",")
  return `${r.currentTerm}|${r.role}|${flag(lease)}|${reads}|${postponed}|${logKey(r)}|` +
    `${storageKey(s)}|${s.applied.join(",")}:${s.appliedIndex}`
}

/**
 * A server's fingerprints, computed once per (immutable once stored) Server for one
 * canonicalizer, in one Int32Array (a 32-bit hash in a plain field would be a boxed number):
 * [body hi, body lo, peers, (peer id, progress hi, progress lo) per peer, then the fingerprint
 * under each renaming p as (hi, lo), lo = 0 until computed].
 */
interface ServerCache {
  readonly owner: Canonicalizer
  readonly words: Int32Array
}

const serverCacheSlot = Symbol("serverCache")

function serverCache(s: Server, owner: Canonicalizer): Int32Array {
  const holder = s as unknown as { [serverCacheSlot]?: ServerCache }
  const cached = holder[serverCacheSlot]
  if (cached !== undefined && cached.owner === owner) return cached.words
  const peers = s.raft.progress.size
  const words = new Int32Array(3 + 3 * peers + 2 * owner.renamings.length)
  const body = fingerprintOf(serverBodyKey(s))
  words[0] = body.hi
  words[1] = body.lo
  words[2] = peers
  let at = 3
  for (const [id, p] of s.raft.progress) {
    const fp = fingerprintOf(progressKey(p))
    words[at++] = id
    words[at++] = fp.hi
    words[at++] = fp.lo
  }
  holder[serverCacheSlot] = { owner, words }
  return words
}

const messageBodyFingerprint = (m: Message): Fingerprint =>
  ((m as Cached)[messageSlot] ??= fingerprintOf(messageBodyKey(m)))

/** A set of ids as a bit mask under a renaming. */
function idMask(ids: Iterable<NodeId>, n: Renaming): number {
  let mask = 0
  for (const id of ids) mask |= 1 << n[id]!
  return mask
}

// ---- Keys and fingerprints under a renaming ----

export class Canonicalizer {
  readonly renamings: ReadonlyArray<Renaming>
  /** For each renaming, the old ids in the order of their new ids. */
  private readonly byNewId: ReadonlyArray<ReadonlyArray<number>>
  private readonly stateHasher = new WordHasher()
  private readonly serverHasher = new WordHasher()
  private readonly candidates: number[] = []

  constructor(renamings: ReadonlyArray<Renaming>) {
    this.renamings = renamings
    this.byNewId = renamings.map((n) => {
      const ids = n.flatMap((image, id) => (id === 0 ? [] : [id]))
      return ids.sort((x, y) => n[x]! - n[y]!)
    })
  }

  /** The ids a server mentions, renamed, as text (for stateKey). */
  private serverIdsKey(s: Server, n: Renaming): string {
    const r = s.raft
    const votes = [...r.votes].map(([id, granted]) => `${n[id]}${flag(granted)}`).sort()
    const progress = [...r.progress].map(([id, p]) => `${n[id]}=${progressKey(p)}`).sort()
    const acks = r.readRequests.map((q) => renameSorted(q.acks, n))
    return `${n[r.id]}:${n[r.votedFor]}:${n[r.leaderId]}:${n[r.leadTransferee]}:` +
      `${n[s.storage.hardState.votedFor]}|${votes.join(",")}|${progress.join(";")}|` +
      acks.join(";")
  }

  /** The canonical string of a state under renaming `p` (0: the identity). */
  stateKey(state: ModelState, p = 0): string {
    const c = state.cluster
    const n = this.renamings[p]!
    const servers = [...c.servers.values()]
      .sort((x, y) => n[x.raft.id]! - n[y.raft.id]!)
      .map((s) => `${this.serverIdsKey(s, n)}|${serverBodyKey(s)}`)
    const network = c.network.map((m) => `${n[m.from]}>${n[m.to]}:${messageBodyKey(m)}`).sort()
    const reads = c.reads.map((r) =>
      `${r.context}:${n[r.server]}:${r.committedAtStart}:${r.index ?? "-"}`)
    return `${servers.join("\n")}\n#${network.join(" ")}\n#${reads.join(" ")}\n#` +
      spentKey(state.spent)
  }

  /** Fingerprint of a server under renaming p (into partHi, partLo), cached on the server. */
  private serverFingerprint(s: Server, p: number): void {
    const words = serverCache(s, this)
    const at = 3 + 3 * words[2]! + 2 * p
    if (words[at + 1] === 0) {
      const r = s.raft
      const n = this.renamings[p]!
      const h = this.serverHasher
      h.begin()
      h.feed(words[0]!)
      h.feed(words[1]!)
      h.feed(n[r.id]!)
      h.feed(n[r.votedFor]!)
      h.feed(n[r.leaderId]!)
      h.feed(n[r.leadTransferee]!)
      h.feed(n[s.storage.hardState.votedFor]!)
      let responded = 0
      let granted = 0
      for (const [id, yes] of r.votes) {
        responded |= 1 << n[id]!
        if (yes) granted |= 1 << n[id]!
      }
      h.feed(responded)
      h.feed(granted)
      feedProgress(h, words, n)
      for (const q of r.readRequests) h.feed(idMask(q.acks, n))
      words[at] = h.hi
      words[at + 1] = h.lo
    }
    this.partHi = words[at]!
    this.partLo = words[at + 1]!
  }

  private partHi = 0
  private partLo = 0

  /** The fingerprint of `state` under renaming p, into partHi and partLo. */
  private fingerprintUnder(state: ModelState, p: number): void {
    const c = state.cluster
    const n = this.renamings[p]!
    const h = this.stateHasher
    h.begin()
    for (const id of this.byNewId[p]!) {
      const s = c.servers.get(id as NodeId)
      if (s === undefined) continue
      this.serverFingerprint(s, p)
      h.feed(this.partHi)
      h.feed(this.partLo)
    }
    // The network is a multiset: sum the messages' fingerprints (endpoints mixed in), per lane.
    let sumHi = 0
    let sumLo = 0
    for (const m of c.network) {
      const body = messageBodyFingerprint(m)
      const ends = Math.imul((n[m.from]! << 8) | n[m.to]!, 0x9e3779b1)
      sumHi = (sumHi + finalize(body.hi ^ ends)) | 0
      sumLo = (sumLo + finalize((body.lo + rotl(ends, 11)) ^ rotl(body.hi, 7))) | 0
    }
    h.feed(sumHi)
    h.feed(sumLo)
    h.feed(c.network.length)
    for (const r of c.reads) {
      h.feed(r.context)
      h.feed(n[r.server]!)
      h.feed(r.committedAtStart)
      h.feed(r.index ?? -1)
    }
    const s = state.spent
    for (const spent of [s.proposals, s.reads, s.restarts, s.duplicates, s.transfers]) h.feed(spent)
    h.feed(s.compactions)
    h.feed(s.confChanges)
    this.partHi = h.hi
    this.partLo = h.lo
  }

  /**
   * Compares the servers' id-free bodies in the order renamings p and q give them (by new id).
   * Only renamings with the least order need a full fingerprint: any renaming of the state
   * moves that set along with it, so the least fingerprint is still the same for the orbit.
   */
  private compareBodyOrder(state: ModelState, p: number, q: number): number {
    const servers = state.cluster.servers
    const inP = this.byNewId[p]!
    const inQ = this.byNewId[q]!
    for (let k = 0; k < inP.length; k++) {
      const a = serverCache(servers.get(inP[k] as NodeId)!, this)
      const b = serverCache(servers.get(inQ[k] as NodeId)!, this)
      if (a[0] !== b[0]) return a[0]! - b[0]!
      if (a[1] !== b[1]) return a[1]! - b[1]!
    }
    return 0
  }

  /** The least fingerprint over the renamings: equal for states equal up to renaming. */
  fingerprint(state: ModelState): Fingerprint {
    const candidates = this.candidates
    candidates.length = 0
    candidates.push(0)
    for (let p = 1; p < this.renamings.length; p++) {
      const order = this.compareBodyOrder(state, p, candidates[0]!)
      if (order < 0) candidates.length = 0
      if (order <= 0) candidates.push(p)
    }
    let bestHi = Infinity
    let bestLo = Infinity
    for (const p of candidates) {
      this.fingerprintUnder(state, p)
      if (this.partHi < bestHi || (this.partHi === bestHi && this.partLo < bestLo)) {
        bestHi = this.partHi
        bestLo = this.partLo
      }
    }
    return { hi: bestHi, lo: bestLo }
  }
}

/** A leader's progress as a set of (renamed peer, progress) pairs: order-free sums. */
function feedProgress(h: WordHasher, words: Int32Array, n: Renaming): void {
  let sumHi = 0
  let sumLo = 0
  for (let k = 3; k < 3 + 3 * words[2]!; k += 3) {
    const peer = Math.imul(n[words[k]!]! + 1, 0x9e3779b1)
    sumHi = (sumHi + finalize(words[k + 1]! ^ peer)) | 0
    sumLo = (sumLo + finalize(words[k + 2]! ^ rotl(peer, 16) ^ rotl(words[k + 1]!, 7))) | 0
  }
  h.feed(sumHi)
  h.feed(sumLo)
}

function spentKey(s: Spent): string {
  return [s.proposals, s.reads, s.restarts, s.duplicates, s.transfers, s.compactions, s.confChanges]
    .join(".")
}

/** An open-addressing set of 64-bit fingerprints (two uint32 per slot; lo = 0 marks empty). */
export class FingerprintSet {
  private slots = new Uint32Array(2 * (1 << 16))
  private mask = (1 << 16) - 1
  size = 0

  /** Adds the fingerprint; false if it was already there. */
  add(hi: number, lo: number): boolean {
    if (2 * (this.size + 1) > this.mask + 1) this.grow()
    let at = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask
    for (;;) {
      const slotLo = this.slots[2 * at + 1]!
      if (slotLo === 0) {
        this.slots[2 * at] = hi
        this.slots[2 * at + 1] = lo
        this.size += 1
        return true
      }
      if (slotLo === lo && this.slots[2 * at] === hi) return false
      at = (at + 1) & this.mask
    }
  }

  private grow(): void {
    const old = this.slots
    this.mask = 2 * (this.mask + 1) - 1
    this.slots = new Uint32Array(2 * (this.mask + 1))
    this.size = 0
    for (let k = 0; k < old.length; k += 2) if (old[k + 1] !== 0) this.add(old[k]!, old[k + 1]!)
  }
}
