// A tiny naive reference for etcd 3.4's KV semantics: the full key-value map of every revision,
// kept as a list. No index, no generations, no sharing: slow and obviously right, so the real
// core can be compared against it on random operation sequences.
import type { KvCommand, KvResult, KeyValue, RangeRequest, RequestOp, ResponseOp, TxnRequest, Compare,
  Event } from "../../src/kv/index.ts"
import { KvErrors } from "../../src/kv/index.ts"

type Snapshot = ReadonlyMap<string, KeyValue>
const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes)
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const cmpBytes = (a: Uint8Array, b: Uint8Array): number => cmp(latin1(a), latin1(b))

function inSpan(key: string, start: string, end: string): boolean {
  if (end === "") return key === start
  return key >= start && (end === "\0" || key < end)
}

export class ReferenceModel {
  /** revisions[r] is the whole map after revision r; revision 1 is the empty start. */
  readonly revisions: Snapshot[] = [new Map(), new Map()]
  compacted = -1
  readonly leases = new Map<bigint, number>()
  readonly minTtl: number
  constructor(minTtl = 2) {
    this.minTtl = minTtl
  }

  get current(): number {
    return this.revisions.length - 1
  }

  apply(command: KvCommand): { result: KvResult; events: Event[] } {
    const events: Event[] = []
    const error = this.invalid(command)
    if (error !== undefined) return { result: { type: "Error", error }, events }
    try {
      return { result: this.run(command, events), events }
    } catch (thrown) {
      if (thrown instanceof ModelError) return { result: { type: "Error", error: thrown.error }, events: [] }
      throw thrown
    }
  }

  private run(command: KvCommand, events: Event[]): KvResult {
    const now = this.current
    switch (command.type) {
      case "Range":
        return { type: "Range", response: this.range(command.request, this.revisions[now]!, now) }
      case "Put": case "DeleteRange": case "Txn": {
        if (command.type === "Put" && command.request.lease !== 0n && !this.leases.has(command.request.lease)) {
          throw new ModelError(KvErrors.leaseNotFound)
        }
        const txn = command.type === "Txn" ? command.request : { compare: [], success: [command as RequestOp], failure: [] }
        const response = this.txn(txn, events)
        if (command.type === "Txn") return { type: "Txn", response }
        return response.responses[0] as KvResult
      }
      case "Compaction": {
        const revision = command.request.revision
        if (revision <= this.compacted) throw new ModelError(KvErrors.compacted)
        if (revision > now) throw new ModelError(KvErrors.futureRevision)
        this.compacted = revision
        return { type: "Compaction", response: { header: { revision: now } } }
      }
      case "LeaseGrant": {
        const { id, ttl } = command.request
        if (id === 0n) throw new ModelError(KvErrors.leaseNotFound)
        if (ttl > 9_000_000_000) throw new ModelError(KvErrors.leaseTtlTooLarge)
        if (this.leases.has(id)) throw new ModelError(KvErrors.leaseExists)
        this.leases.set(id, Math.max(ttl, this.minTtl))
        return { type: "LeaseGrant", response: { header: { revision: now }, id, ttl: Math.max(ttl, this.minTtl) } }
      }
      case "LeaseRevoke": {
        const id = command.request.id
        if (!this.leases.has(id)) throw new ModelError(KvErrors.leaseNotFound)
        const map = new Map(this.revisions[now]!)
        const doomed = [...map.values()].filter((kv) => kv.lease === id).map((kv) => latin1(kv.key)).sort(cmp)
        for (const key of doomed) this.remove(map, this.revisions[now]!, key, now + 1, events)
        if (doomed.length > 0) this.revisions.push(map)
        this.leases.delete(id)
        return { type: "LeaseRevoke", response: { header: { revision: this.current } } }
      }
    }
  }

  /** Deletes a key; the event's prev_kv is the key before the revision (`before`), as etcd's watch reads it. */
  private remove(map: Map<string, KeyValue>, before: Snapshot, key: string, revision: number, events: Event[]): void {
    const prevKv = before.get(key)
    const gone = map.get(key)!
    map.delete(key)
    events.push({ type: 1, kv: { key: gone.key, createRevision: 0, modRevision: revision, version: 0,
      value: new Uint8Array(0), lease: 0n }, prevKv })
  }

  private range(request: RangeRequest, map: Snapshot, viewRevision: number) {
    let revision = request.revision
    if (revision > viewRevision) throw new ModelError(KvErrors.futureRevision)
    if (revision <= 0) revision = viewRevision
    if (revision < this.compacted) throw new ModelError(KvErrors.compacted)
    const at = revision === viewRevision ? map : this.revisions[revision]!
    const start = latin1(request.key)
    const end = latin1(request.rangeEnd)
    const all = [...at.entries()].filter(([k]) => inSpan(k, start, end)).sort(([a], [b]) => cmp(a, b)).map(([, kv]) => kv)
    const header = { revision: viewRevision }
    if (request.countOnly) return { header, kvs: [], more: false, count: all.length }
    const filters = [request.minModRevision, request.maxModRevision, request.minCreateRevision, request.maxCreateRevision]
    const fetchAll = request.sortOrder !== 0 || filters.some((f) => f !== 0)
    let kvs = !fetchAll && request.limit > 0 ? all.slice(0, request.limit + 1) : all
    kvs = kvs.filter((kv) =>
      (request.minModRevision === 0 || kv.modRevision >= request.minModRevision) &&
      (request.maxModRevision === 0 || kv.modRevision <= request.maxModRevision) &&
      (request.minCreateRevision === 0 || kv.createRevision >= request.minCreateRevision) &&
      (request.maxCreateRevision === 0 || kv.createRevision <= request.maxCreateRevision))
    const order = request.sortOrder === 0 && request.sortTarget !== 0 ? 1 : request.sortOrder
    if (order !== 0) {
      const by = (kv: KeyValue): number | string => [latin1(kv.key), kv.version, kv.createRevision, kv.modRevision,
        latin1(kv.value)][request.sortTarget]!
      const asc = (a: KeyValue, b: KeyValue) => { const x = by(a), y = by(b); return x < y ? -1 : x > y ? 1 : 0 }
      kvs = [...kvs].sort(order === 1 ? asc : (a, b) => asc(b, a))
    }
    const more = request.limit > 0 && kvs.length > request.limit
    if (more) kvs = kvs.slice(0, request.limit)
    if (request.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }))
    return { header, kvs, more, count: all.length }
  }

  private holds(compare: Compare, map: Snapshot): boolean {
    const start = latin1(compare.key)
    const end = latin1(compare.rangeEnd)
    const kvs = [...map.entries()].filter(([k]) => inSpan(k, start, end)).map(([, kv]) => kv)
    if (kvs.length === 0 && compare.target === "VALUE") return false
    const zero: KeyValue = { key: compare.key, createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n }
    return (kvs.length === 0 ? [zero] : kvs).every((kv) => {
      const order = compare.target === "VALUE" ? cmpBytes(kv.value, compare.value)
        : compare.target === "LEASE" ? (kv.lease < compare.lease ? -1 : kv.lease > compare.lease ? 1 : 0)
        : compare.target === "VERSION" ? Math.sign(kv.version - compare.version)
        : compare.target === "CREATE" ? Math.sign(kv.createRevision - compare.createRevision)
        : Math.sign(kv.modRevision - compare.modRevision)
      return [order === 0, order > 0, order < 0, order !== 0][compare.result]!
    })
  }

  /** Runs a txn (or a lone Put/DeleteRange as a one-op txn) on a copy of the current map. */
  private txn(request: TxnRequest, events: Event[]) {
    const before = this.revisions[this.current]!
    const next = this.current + 1
    const map = new Map(before)
    let changes = 0
    const check = (t: TxnRequest): void => {
      for (const op of t.compare.every((c) => this.holds(c, before)) ? t.success : t.failure) {
        if (op.type === "Txn") check(op.request)
        if (op.type === "Put" && (op.request.ignoreLease || op.request.ignoreValue) && !before.has(latin1(op.request.key))) {
          throw new ModelError(KvErrors.keyNotFound)
        }
        if (op.type === "Put" && op.request.lease !== 0n && !this.leases.has(op.request.lease)) {
          throw new ModelError(KvErrors.leaseNotFound)
        }
      }
    }
    const checkRanges = (t: TxnRequest): void => {
      for (const op of t.compare.every((c) => this.holds(c, before)) ? t.success : t.failure) {
        if (op.type === "Txn") checkRanges(op.request)
        if (op.type === "Range" && op.request.revision > this.current) throw new ModelError(KvErrors.futureRevision)
        if (op.type === "Range" && op.request.revision !== 0 && op.request.revision < this.compacted) {
          throw new ModelError(KvErrors.compacted)
        }
      }
    }
    const readOnly = [...request.success, ...request.failure].every((op) => op.type === "Range")
    if (!readOnly) check(request)
    checkRanges(request)
    const run = (t: TxnRequest, nested: boolean) => {
      const succeeded = t.compare.every((c) => this.holds(c, before))
      const responses: ResponseOp[] = (succeeded ? t.success : t.failure).map((op): ResponseOp => {
        const view = changes > 0 ? next : this.current
        switch (op.type) {
          case "Range": return { type: "Range", response: this.range(op.request, map, view) }
          case "Put": {
            const key = latin1(op.request.key)
            const old = map.get(key)
            const kv: KeyValue = { key: op.request.key, createRevision: old?.createRevision ?? next, modRevision: next,
              version: (old?.version ?? 0) + 1, value: op.request.ignoreValue ? old!.value : op.request.value,
              lease: op.request.ignoreLease ? old!.lease : op.request.lease }
            map.set(key, kv)
            changes++
            events.push({ type: 0, kv, prevKv: kv.version === 1 ? undefined : before.get(key) })
            return { type: "Put", response: { header: { revision: next }, prevKv: op.request.prevKv ? old : undefined } }
          }
          case "DeleteRange": {
            const start = latin1(op.request.key)
            const end = latin1(op.request.rangeEnd)
            const doomed = [...map.keys()].filter((k) => inSpan(k, start, end)).sort(cmp)
            const prevKvs = op.request.prevKv ? doomed.map((k) => map.get(k)!) : []
            for (const key of doomed) this.remove(map, before, key, next, events)
            changes += doomed.length
            return { type: "DeleteRange", response: { header: { revision: changes > 0 ? next : this.current },
              deleted: doomed.length, prevKvs } }
          }
          case "Txn": return { type: "Txn", response: run(op.request, true) }
        }
      })
      return { header: { revision: nested ? 0 : changes > 0 ? next : this.current }, succeeded, responses }
    }
    const response = run(request, false)
    if (changes > 0) this.revisions.push(map)
    return response
  }

  /** The gRPC-layer checks, restated: empty keys, ignore misuse, op limit, duplicate keys. */
  private invalid(command: KvCommand) {
    const op = (o: RequestOp | KvCommand, budget: number): typeof KvErrors[keyof typeof KvErrors] | undefined => {
      switch (o.type) {
        case "Range": case "DeleteRange": return o.request.key.length === 0 ? KvErrors.emptyKey : undefined
        case "Put":
          if (o.request.key.length === 0) return KvErrors.emptyKey
          if (o.request.ignoreValue && o.request.value.length > 0) return KvErrors.valueProvided
          if (o.request.ignoreLease && o.request.lease !== 0n) return KvErrors.leaseProvided
          return undefined
        case "Txn": {
          const t = o.request
          const width = Math.max(t.compare.length, t.success.length, t.failure.length)
          if (width > budget) return KvErrors.tooManyOps
          if (t.compare.some((c) => c.key.length === 0)) return KvErrors.emptyKey
          for (const inner of [...t.success, ...t.failure]) {
            const e = op(inner, budget - width)
            if (e) return e
          }
          return undefined
        }
        default: return undefined
      }
    }
    const e = op(command, 128)
    if (e || command.type !== "Txn") return e
    return duplicates(command.request.success) ?? duplicates(command.request.failure)
  }
}

/** Puts and delete spans of one op list, with etcd's duplicate rule (see Validate.ts for the prose). */
function duplicates(ops: ReadonlyArray<RequestOp>): typeof KvErrors.duplicateKey | undefined {
  return collect(ops).error
}
function collect(ops: ReadonlyArray<RequestOp>): { puts: Set<string>; dels: [string, string][]; error?: typeof KvErrors.duplicateKey } {
  const dels: [string, string][] = ops.flatMap((o) => o.type === "DeleteRange"
    ? [[latin1(o.request.key), o.request.rangeEnd.length === 0 ? latin1(o.request.key) + "\0" : latin1(o.request.rangeEnd)] as [string, string]] : [])
  const hit = (k: string) => dels.some(([b, e]) => b <= k && k < e)
  const puts = new Set<string>()
  const dup = { puts, dels, error: KvErrors.duplicateKey }
  for (const o of ops) {
    if (o.type !== "Txn") continue
    const a = collect(o.request.success)
    const b = collect(o.request.failure)
    if (a.error || b.error) return dup
    for (const k of a.puts) { if (puts.has(k) || hit(k)) return dup; puts.add(k) }
    for (const k of b.puts) { if ((puts.has(k) && !a.puts.has(k)) || hit(k)) return dup; puts.add(k) }
    dels.push(...a.dels, ...b.dels)
  }
  for (const o of ops) {
    if (o.type !== "Put") continue
    const k = latin1(o.request.key)
    if (puts.has(k) || hit(k)) return dup
    puts.add(k)
  }
  return { puts, dels }
}

class ModelError extends Error {
  readonly error: typeof KvErrors[keyof typeof KvErrors]
  constructor(error: typeof KvErrors[keyof typeof KvErrors]) {
    super(error.message)
    this.error = error
  }
}
