// Seeded random steps for the differential suite: Put, Range, DeleteRange, Txn, Compact and lease
// operations over a small key space (so operations collide), inside one key prefix per sequence.
// The generator keeps just enough of what etcd answered (revisions seen, leases granted) to aim
// compares and historical reads where they matter; its choices depend on the PRNG and on those
// answers only, so a run replays from its seed.
import {
  NoLease,
  type Bytes,
  type CompareResult,
  type KvCommand,
  type KvResult,
  type LeaseId,
  type LeaseTimeToLiveRequest,
  type RangeRequest,
  type RequestOp,
  type SortOrder,
  type SortTarget,
  type TxnRequest,
  type Compare,
  compare,
  deleteRangeRequest,
  putRequest,
  rangeRequest,
  txnRequest,
  utf8,
} from "../../src/kv/index.ts"
import { assert } from "../../src/assert.ts"
import type { Random } from "./Random.ts"

export type Step =
  | { readonly type: "Command"; readonly command: KvCommand }
  | { readonly type: "LeaseTimeToLive"; readonly request: LeaseTimeToLiveRequest }
  | { readonly type: "LeaseLeases" }
  | { readonly type: "HashKV"; readonly revision: number }

/** etcd's --max-txn-ops default, which the suite's etcd and core both use. */
export const maxTxnOps = 128
/** etcd's MaxLeaseTTL (lease/lessor.go). */
const maxLeaseTtlSeconds = 9_000_000_000

// Keys order bytewise, not as JS strings: "b\0x" holds a zero byte, and "\uff5e" sorts after the
// emoji as UTF-16 but before it as UTF-8 bytes.
const keyNames = ["a", "b", "b/1", "b/2", "b\u0000x", "c", "d", "e", "\uff5e", "\u{1f600}"] as const
/** Some sequences use many more keys, so limits, `more` and sorting work on longer lists. */
const wideKeyNames = [...keyNames, ...Array.from({ length: 24 }, (_, i) => `b/w${String(i).padStart(2, "0")}`)]
const wideSequenceChance = 0.2
const values = ["", "x", "y", "zz", "x1"] as const
const txnDepthMax = 2
const recentRevisionsMax = 12

const stepWeights = {
  Put: 26,
  Range: 22,
  DeleteRange: 8,
  Txn: 24,
  Compaction: 2,
  LeaseGrant: 6,
  LeaseRevoke: 4,
  LeaseTimeToLive: 5,
  LeaseLeases: 2,
  HashKV: 1,
  EmptyKey: 1,
} as const

export class SequenceGenerator {
  private readonly random: Random
  private readonly prefix: string
  private readonly keyNames: ReadonlyArray<string>
  /** Client-chosen lease IDs of this sequence are leaseIdBase + small numbers, so sequences never share one. */
  private readonly leaseIdBase: bigint
  private currentRevision: number
  private compactRevision: number
  private readonly recentRevisions: number[] = []
  private readonly liveLeases: LeaseId[] = []
  private readonly revokedLeases: LeaseId[] = []
  /** Steps that must come next (a short-lived lease is revoked before etcd's clock can expire it). */
  private readonly pending: Step[] = []

  constructor(options: {
    readonly random: Random
    readonly sequenceIndex: number
    readonly startRevision: number
    readonly compactRevision: number
  }) {
    this.random = options.random
    this.prefix = `s${String(options.sequenceIndex).padStart(4, "0")}/`
    this.keyNames = options.random.chance(wideSequenceChance) ? wideKeyNames : keyNames
    this.leaseIdBase = BigInt(options.sequenceIndex + 1) * 1000n
    this.currentRevision = options.startRevision
    this.compactRevision = options.compactRevision
  }

  get keyPrefix(): string {
    return this.prefix
  }

  get leasesAlive(): ReadonlyArray<LeaseId> {
    return this.liveLeases
  }

  get compactedRevision(): number {
    return this.compactRevision
  }

  /** Tells the generator what etcd answered to a step, before asking for the next one. */
  observe(step: Step, result: KvResult | undefined): void {
    if (result === undefined || result.type === "Error") return
    const revision = result.response.header.revision
    this.currentRevision = revision
    this.rememberRevision(revision)
    if (step.type !== "Command") return
    const command = step.command
    if (command.type === "Compaction") {
      this.compactRevision = command.request.revision
      // The compaction boundary is where stores go wrong: read and hash exactly at it.
      const wholeSequence = { key: utf8(this.prefix), rangeEnd: prefixEnd(utf8(this.prefix)) }
      this.pending.push({ type: "Command", command: { type: "Range", request: rangeRequest({ ...wholeSequence, revision: this.compactRevision }) } })
      this.pending.push({ type: "HashKV", revision: Math.min(this.compactRevision + 1, this.currentRevision) })
    }
    if (command.type === "LeaseGrant" && result.type === "LeaseGrant") {
      const id = result.response.id
      this.liveLeases.push(id)
      // etcd's clock would expire a short lease within seconds; revoke it right away instead.
      if (command.request.ttl < 10) this.pending.push(revokeStep(id))
    }
    if (command.type === "LeaseRevoke") {
      const index = this.liveLeases.indexOf(command.request.id)
      if (index >= 0) this.revokedLeases.push(...this.liveLeases.splice(index, 1))
    }
  }

  next(): Step {
    const pending = this.pending.shift()
    if (pending !== undefined) return pending
    const kind = this.random.weighted(stepWeights)
    switch (kind) {
      case "Put":
        return command({ type: "Put", request: this.put() })
      case "Range":
        return command({ type: "Range", request: this.range() })
      case "DeleteRange":
        return command({ type: "DeleteRange", request: deleteRangeRequest({ ...this.span(), prevKv: this.random.chance(0.5) }) })
      case "Txn":
        return command({ type: "Txn", request: this.random.chance(0.02) ? this.oversizedTxn() : withoutEtcdPanic(this.txn(0)) })
      case "Compaction":
        return command({ type: "Compaction", request: { revision: this.compactionRevision(), physical: this.random.chance(0.3) } })
      case "LeaseGrant":
        return command({ type: "LeaseGrant", request: this.leaseGrant() })
      case "LeaseRevoke":
        return revokeStep(this.leaseReference())
      case "LeaseTimeToLive":
        return { type: "LeaseTimeToLive", request: { id: this.leaseReference(), keys: this.random.chance(0.7) } }
      case "LeaseLeases":
        return { type: "LeaseLeases" }
      case "HashKV":
        return { type: "HashKV", revision: this.random.chance(0.5) ? 0 : this.someRevision() }
      case "EmptyKey":
        return this.emptyKeyStep()
    }
  }

  /**
   * Steps that end a sequence: revoke every lease still alive (deleting its keys), so leases do not
   * pile up, then compare the hash of the whole store.
   */
  closingSteps(): Step[] {
    return [...this.liveLeases.map(revokeStep), { type: "HashKV", revision: 0 }]
  }

  // ---- Keys and spans ----

  private key(name: string): Bytes {
    return utf8(this.prefix + name)
  }

  private anyKey(): Bytes {
    return this.key(this.random.pick(this.keyNames))
  }

  private span(): { key: Bytes; rangeEnd: Bytes } {
    const shape = this.random.weighted({ single: 40, between: 15, prefix: 15, fromKey: 10, sequence: 15, missing: 5 })
    switch (shape) {
      case "single":
        return { key: this.anyKey(), rangeEnd: new Uint8Array() }
      case "between":
        return { key: this.anyKey(), rangeEnd: this.anyKey() }
      case "prefix":
        return { key: this.key("b/"), rangeEnd: this.key("b0") }
      case "fromKey":
        return { key: this.anyKey(), rangeEnd: new Uint8Array([0]) }
      case "sequence":
        return { key: utf8(this.prefix), rangeEnd: prefixEnd(utf8(this.prefix)) }
      case "missing":
        return { key: this.key("zz-none"), rangeEnd: this.random.chance(0.5) ? new Uint8Array() : this.key("zzz") }
    }
  }

  // ---- Requests ----

  private put(): ReturnType<typeof putRequest> {
    const ignoreValue = this.random.chance(0.08)
    const ignoreLease = this.random.chance(0.08)
    const value = ignoreValue && !this.random.chance(0.2) ? "" : this.random.pick(values)
    let lease = NoLease
    if (ignoreLease) lease = this.random.chance(0.2) ? this.leaseReference() : NoLease
    else if (this.random.chance(0.25)) lease = this.leaseReference()
    return putRequest({ key: this.anyKey(), value: utf8(value), lease, prevKv: this.random.chance(0.5), ignoreValue, ignoreLease })
  }

  private range(): RangeRequest {
    const random = this.random
    const filters = random.chance(0.15)
    return rangeRequest({
      ...this.span(),
      limit: random.chance(0.25) ? random.pick([-1, 1, 1, 2, 3, 10]) : 0,
      revision: random.chance(0.25) ? this.someRevision() : 0,
      sortOrder: random.chance(0.4) ? (random.between(0, 2) as SortOrder) : 0,
      sortTarget: random.chance(0.4) ? (random.between(0, 4) as SortTarget) : 0,
      serializable: random.chance(0.2),
      keysOnly: random.chance(0.15),
      countOnly: random.chance(0.1),
      minModRevision: filters && random.chance(0.5) ? this.recentRevision() : 0,
      maxModRevision: filters && random.chance(0.5) ? this.recentRevision() : 0,
      minCreateRevision: filters && random.chance(0.5) ? this.recentRevision() : 0,
      maxCreateRevision: filters && random.chance(0.5) ? this.recentRevision() : 0,
    })
  }

  private txn(depth: number): TxnRequest {
    const random = this.random
    const compareCount = random.pick([0, 1, 1, 1, 2, 2, 3])
    const compares = Array.from({ length: compareCount }, () => this.compare())
    return txnRequest({
      compare: compares,
      success: this.branch(depth),
      failure: this.branch(depth),
    })
  }

  private branch(depth: number): RequestOp[] {
    const count = this.random.pick([0, 1, 1, 2, 2, 3, 4])
    const ops: RequestOp[] = []
    const written = new Set<string>()
    for (let i = 0; i < count; i++) {
      const kind = this.random.weighted({ Range: 35, Put: 35, DeleteRange: 15, Txn: depth < txnDepthMax ? 15 : 0 })
      if (kind === "Range") ops.push({ type: "Range", request: this.range() })
      if (kind === "DeleteRange") ops.push({ type: "DeleteRange", request: deleteRangeRequest({ ...this.span(), prevKv: this.random.chance(0.5) }) })
      if (kind === "Txn") ops.push({ type: "Txn", request: this.txn(depth + 1) })
      if (kind === "Put") {
        let request = this.put()
        // Mostly distinct keys, so most transactions pass the duplicate-key rule and do work.
        if (written.has(String(request.key)) && this.random.chance(0.75)) request = { ...request, key: this.key(`t${i}`) }
        written.add(String(request.key))
        ops.push({ type: "Put", request })
      }
    }
    return ops
  }

  private compare(): Compare {
    const random = this.random
    const result = random.between(0, 3) as CompareResult
    const ranged = random.chance(0.2)
    const { key, rangeEnd } = ranged ? this.span() : { key: this.anyKey(), rangeEnd: new Uint8Array() }
    const target = random.pick(["VERSION", "CREATE", "MOD", "VALUE", "LEASE"] as const)
    switch (target) {
      case "VERSION":
        return compare(key, result, { target, version: random.between(0, 3) }, rangeEnd)
      case "CREATE":
        return compare(key, result, { target, createRevision: random.chance(0.2) ? 0 : this.recentRevision() }, rangeEnd)
      case "MOD":
        return compare(key, result, { target, modRevision: random.chance(0.2) ? 0 : this.recentRevision() }, rangeEnd)
      case "VALUE":
        return compare(key, result, { target, value: utf8(random.pick(values)) }, rangeEnd)
      case "LEASE":
        return compare(key, result, { target, lease: random.chance(0.3) ? NoLease : this.leaseReference() }, rangeEnd)
    }
  }

  /** A Txn at or just over the op limit, in one of its lists or in a nested Txn's share of it. */
  private oversizedTxn(): TxnRequest {
    const random = this.random
    const count = maxTxnOps + random.between(-1, 1)
    const key = this.anyKey()
    const read = (): RequestOp => ({ type: "Range", request: rangeRequest({ key }) })
    const guard = (): Compare => compare(key, 1, { target: "VERSION", version: -1 })
    const where = random.weighted({ compare: 1, success: 1, failure: 1, nested: 1 })
    if (where === "compare") return txnRequest({ compare: Array.from({ length: count }, guard) })
    if (where === "success") return txnRequest({ success: Array.from({ length: count }, read) })
    if (where === "failure") return txnRequest({ compare: [guard()], failure: Array.from({ length: count }, read) })
    // A nested Txn may use only what its parent's widest list leaves of the limit.
    const outer = random.between(60, 100)
    const inner = maxTxnOps - outer + random.between(-1, 1)
    const nested: RequestOp = { type: "Txn", request: txnRequest({ success: Array.from({ length: inner }, read) }) }
    return txnRequest({ success: [...Array.from({ length: outer - 1 }, read), nested] })
  }

  private leaseGrant(): { ttl: number; id: LeaseId } {
    const random = this.random
    const clientId = (): LeaseId => this.leaseIdBase + BigInt(random.between(1, 12))
    const shape = random.weighted({ client: 40, negative: 5, server: 25, short: 15, tooLarge: 5, largest: 3 })
    switch (shape) {
      case "client":
        return { ttl: random.between(100, 100_000), id: clientId() }
      case "negative":
        return { ttl: random.between(100, 100_000), id: -clientId() }
      case "server":
        return { ttl: random.between(100, 100_000), id: NoLease }
      case "short":
        return { ttl: random.between(-2, 3), id: clientId() }
      case "tooLarge":
        return { ttl: maxLeaseTtlSeconds + random.between(1, 1000), id: random.chance(0.5) ? NoLease : clientId() }
      case "largest":
        return { ttl: maxLeaseTtlSeconds, id: clientId() }
    }
  }

  private leaseReference(): LeaseId {
    const random = this.random
    const shape = random.weighted({ live: 70, revoked: 10, unknown: 15, none: 5 })
    if (shape === "live" && this.liveLeases.length > 0) return random.pick(this.liveLeases)
    if (shape === "revoked" && this.revokedLeases.length > 0) return random.pick(this.revokedLeases)
    if (shape === "none") return NoLease
    return this.leaseIdBase + 500n + BigInt(random.between(0, 9))
  }

  // ---- Revisions ----

  private rememberRevision(revision: number): void {
    if (this.recentRevisions.at(-1) === revision) return
    this.recentRevisions.push(revision)
    if (this.recentRevisions.length > recentRevisionsMax) this.recentRevisions.shift()
  }

  /** A revision near the ones etcd reported lately, so equality compares and filters bite. */
  private recentRevision(): number {
    if (this.recentRevisions.length === 0) return this.currentRevision
    return Math.max(0, this.random.pick(this.recentRevisions) + this.random.between(-1, 1))
  }

  /** A revision for a historical read: recent, the compaction point, or compacted or future ones. */
  private someRevision(): number {
    const random = this.random
    const shape = random.weighted({ recent: 60, compactPoint: 10, compacted: 10, future: 15, negative: 5 })
    switch (shape) {
      case "recent":
        return this.recentRevision()
      case "compactPoint":
        return Math.max(1, this.compactRevision)
      case "compacted":
        return Math.max(1, this.compactRevision - random.between(1, 3))
      case "future":
        return this.currentRevision + random.between(1, 2)
      case "negative":
        return -random.between(1, 3)
    }
  }

  private compactionRevision(): number {
    const random = this.random
    const shape = random.weighted({ valid: 70, compacted: 15, future: 15 })
    if (shape === "valid" && this.currentRevision > this.compactRevision) {
      return random.between(Math.max(this.compactRevision + 1, this.currentRevision - 20), this.currentRevision)
    }
    if (shape === "compacted") return Math.max(0, this.compactRevision - random.between(0, 2))
    return this.currentRevision + random.between(1, 2)
  }

  private emptyKeyStep(): Step {
    const empty = new Uint8Array()
    const shape = this.random.weighted({ range: 1, put: 1, delete: 1, compare: 1, txnOp: 1 })
    if (shape === "range") return command({ type: "Range", request: rangeRequest({ key: empty }) })
    if (shape === "put") return command({ type: "Put", request: putRequest({ key: empty, value: utf8("x") }) })
    if (shape === "delete") return command({ type: "DeleteRange", request: deleteRangeRequest({ key: empty }) })
    if (shape === "compare") {
      return command({ type: "Txn", request: txnRequest({ compare: [compare(empty, 0, { target: "VERSION", version: 0 })] }) })
    }
    return command({ type: "Txn", request: txnRequest({ success: [{ type: "Put", request: putRequest({ key: empty }) }] }) })
  }
}

/**
 * The Txn with the ignore_value/ignore_lease flags dropped when etcd 3.4 would panic on it. Its
 * duplicate-key check does not see a DeleteRange to "\0" as covering later keys, so a Txn may delete
 * a key and then Put it with an ignore flag; the check before the writes passes, the Put finds no
 * key, and etcd panics ("unexpected error during txn") on every replay of its log: the member is
 * lost for good. No answer to compare there, so the suite never sends it.
 */
export function withoutEtcdPanic(txn: TxnRequest): TxnRequest {
  const ops = flatOps(txn)
  const openDeletes = ops.flatMap((op) => (op.type === "DeleteRange" && isGteRangeEnd(op.request.rangeEnd) ? [op.request.key] : []))
  const endangered = ops.some(
    (op) =>
      op.type === "Put" &&
      (op.request.ignoreValue || op.request.ignoreLease) &&
      openDeletes.some((from) => Buffer.compare(op.request.key, from) >= 0),
  )
  return endangered ? withoutIgnoreFlags(txn) : txn
}

function flatOps(txn: TxnRequest): RequestOp[] {
  return [...txn.success, ...txn.failure].flatMap((op) => (op.type === "Txn" ? [op, ...flatOps(op.request)] : [op]))
}

function withoutIgnoreFlags(txn: TxnRequest): TxnRequest {
  const rewrite = (op: RequestOp): RequestOp => {
    if (op.type === "Put") return { type: "Put", request: { ...op.request, ignoreValue: false, ignoreLease: false } }
    if (op.type === "Txn") return { type: "Txn", request: withoutIgnoreFlags(op.request) }
    return op
  }
  return { ...txn, success: txn.success.map(rewrite), failure: txn.failure.map(rewrite) }
}

function isGteRangeEnd(rangeEnd: Bytes): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === 0
}

function command(command: KvCommand): Step {
  return { type: "Command", command }
}

function revokeStep(id: LeaseId): Step {
  return { type: "Command", command: { type: "LeaseRevoke", request: { id } } }
}

/** The end of the range of every key that starts with `prefix` (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: Bytes): Bytes {
  const end = Uint8Array.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1
      return end.subarray(0, i + 1)
    }
  }
  assert(false, "a prefix of only 0xff bytes has no end")
}
