// etcdserverpb KV messages <-> src/kv/Api.ts. Field numbers are those of etcd's rpc.proto and
// mvccpb/kv.proto (protocol facts); proto3 defaults are omitted on the wire.
import type {
  Compare,
  CompareResult,
  CompactionRequest,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from "../../../kv/Api.ts"
import { ProtoReader, ProtoWriter } from "../Wire.ts"

const EMPTY: Uint8Array = new Uint8Array(0)

/** etcdserverpb.ResponseHeader as the server fills it. */
export interface Header {
  readonly clusterId: bigint
  readonly memberId: bigint
  readonly revision: number
  readonly raftTerm: number
}

/**
 * Every response of a member carries the same cluster and member IDs: their encoding is kept,
 * since encoding two 64-bit IDs through BigInt per response showed up in profiles (~2.5 %).
 */
let idsCache: { clusterId: bigint; memberId: bigint; bytes: Uint8Array } | undefined

function encodedIds(clusterId: bigint, memberId: bigint): Uint8Array {
  if (idsCache === undefined || idsCache.clusterId !== clusterId || idsCache.memberId !== memberId) {
    const w = new ProtoWriter(32)
    if (clusterId !== 0n) w.int64Big(1, clusterId)
    if (memberId !== 0n) w.int64Big(2, memberId)
    idsCache = { clusterId, memberId, bytes: Uint8Array.from(w.finish()) }
  }
  return idsCache.bytes
}

export function writeHeader(w: ProtoWriter, field: number, header: Header): void {
  w.fork(field)
  w.raw(encodedIds(header.clusterId, header.memberId))
  w.int64(3, header.revision)
  w.uint(4, header.raftTerm)
  w.join()
}

export function writeKeyValue(w: ProtoWriter, field: number, kv: KeyValue): void {
  w.fork(field)
  w.bytes(1, kv.key)
  w.int64(2, kv.createRevision)
  w.int64(3, kv.modRevision)
  w.int64(4, kv.version)
  w.bytes(5, kv.value)
  w.int64Big(6, kv.lease)
  w.join()
}

// ---- Requests ----

/** Decoded bytes are views into the request buffer; the core copies what it keeps. */
export function readRangeRequest(r: ProtoReader): RangeRequest {
  let key = EMPTY, rangeEnd = EMPTY
  let limit = 0, revision = 0, sortOrder = 0, sortTarget = 0
  let serializable = false, keysOnly = false, countOnly = false
  let minModRevision = 0, maxModRevision = 0, minCreateRevision = 0, maxCreateRevision = 0
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: key = r.bytesField(); break
      case 2: rangeEnd = r.bytesField(); break
      case 3: limit = r.int64(); break
      case 4: revision = r.int64(); break
      case 5: sortOrder = r.uint32(); break
      case 6: sortTarget = r.uint32(); break
      case 7: serializable = r.bool(); break
      case 8: keysOnly = r.bool(); break
      case 9: countOnly = r.bool(); break
      case 10: minModRevision = r.int64(); break
      case 11: maxModRevision = r.int64(); break
      case 12: minCreateRevision = r.int64(); break
      case 13: maxCreateRevision = r.int64(); break
      default: r.skip(tag & 7)
    }
  }
  return {
    key, rangeEnd, limit, revision,
    sortOrder: sortOrder as SortOrder, sortTarget: sortTarget as SortTarget,
    serializable, keysOnly, countOnly,
    minModRevision, maxModRevision, minCreateRevision, maxCreateRevision,
  }
}

export function readPutRequest(r: ProtoReader): PutRequest {
  let key = EMPTY, value = EMPTY, lease = 0n
  let prevKv = false, ignoreValue = false, ignoreLease = false
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: key = r.bytesField(); break
      case 2: value = r.bytesField(); break
      case 3: lease = r.int64Big(); break
      case 4: prevKv = r.bool(); break
      case 5: ignoreValue = r.bool(); break
      case 6: ignoreLease = r.bool(); break
      default: r.skip(tag & 7)
    }
  }
  return { key, value, lease, prevKv, ignoreValue, ignoreLease }
}

export function readDeleteRangeRequest(r: ProtoReader): DeleteRangeRequest {
  let key = EMPTY, rangeEnd = EMPTY, prevKv = false
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: key = r.bytesField(); break
      case 2: rangeEnd = r.bytesField(); break
      case 3: prevKv = r.bool(); break
      default: r.skip(tag & 7)
    }
  }
  return { key, rangeEnd, prevKv }
}

function readCompare(r: ProtoReader): Compare {
  let result = 0, target = 0, key = EMPTY, rangeEnd = EMPTY
  let number = 0, value = EMPTY, lease = 0n
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: result = r.uint32(); break
      case 2: target = r.uint32(); break
      case 3: key = r.bytesField(); break
      case 4: case 5: case 6: number = r.int64(); break
      case 7: value = r.bytesField(); break
      case 8: lease = r.int64Big(); break
      case 64: rangeEnd = r.bytesField(); break
      default: r.skip(tag & 7)
    }
  }
  const base = { result: result as CompareResult, key, rangeEnd }
  switch (target) {
    case 0: return { ...base, target: "VERSION", version: number }
    case 1: return { ...base, target: "CREATE", createRevision: number }
    case 2: return { ...base, target: "MOD", modRevision: number }
    case 3: return { ...base, target: "VALUE", value }
    default: return { ...base, target: "LEASE", lease }
  }
}

function readRequestOp(r: ProtoReader): RequestOp | undefined {
  let op: RequestOp | undefined
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: op = { type: "Range", request: readRangeRequest(r.nested()) }; break
      case 2: op = { type: "Put", request: readPutRequest(r.nested()) }; break
      case 3: op = { type: "DeleteRange", request: readDeleteRangeRequest(r.nested()) }; break
      case 4: op = { type: "Txn", request: readTxnRequest(r.nested()) }; break
      default: r.skip(tag & 7)
    }
  }
  return op
}

/** An empty RequestOp (no member of the oneof set) is dropped, as etcd ignores it. */
export function readTxnRequest(r: ProtoReader): TxnRequest {
  const compare: Array<Compare> = []
  const success: Array<RequestOp> = []
  const failure: Array<RequestOp> = []
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: compare.push(readCompare(r.nested())); break
      case 2: { const op = readRequestOp(r.nested()); if (op !== undefined) success.push(op); break }
      case 3: { const op = readRequestOp(r.nested()); if (op !== undefined) failure.push(op); break }
      default: r.skip(tag & 7)
    }
  }
  return { compare, success, failure }
}

export function readCompactionRequest(r: ProtoReader): CompactionRequest {
  let revision = 0, physical = false
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: revision = r.int64(); break
      case 2: physical = r.bool(); break
      default: r.skip(tag & 7)
    }
  }
  return { revision, physical }
}

// ---- Responses (written as the body of `field`, or top level when field is undefined) ----

export function writeRangeResponse(w: ProtoWriter, header: Header, response: RangeResponse): void {
  writeHeader(w, 1, header)
  for (const kv of response.kvs) writeKeyValue(w, 2, kv)
  w.bool(3, response.more)
  w.int64(4, response.count)
}

export function writePutResponse(w: ProtoWriter, header: Header, response: PutResponse): void {
  writeHeader(w, 1, header)
  if (response.prevKv !== undefined) writeKeyValue(w, 2, response.prevKv)
}

export function writeDeleteRangeResponse(w: ProtoWriter, header: Header, response: DeleteRangeResponse): void {
  writeHeader(w, 1, header)
  w.int64(2, response.deleted)
  for (const kv of response.prevKvs) writeKeyValue(w, 3, kv)
}

function writeResponseOp(w: ProtoWriter, op: ResponseOp): void {
  // A nested response's header is the store's alone (revision only), as in etcd: the server
  // fills cluster, member and term on the top-level header only.
  const header = nestedHeader(op.response.header.revision)
  switch (op.type) {
    case "Range": w.fork(1); writeRangeResponse(w, header, op.response); break
    case "Put": w.fork(2); writePutResponse(w, header, op.response); break
    case "DeleteRange": w.fork(3); writeDeleteRangeResponse(w, header, op.response); break
    case "Txn": w.fork(4); writeTxnResponse(w, header, op.response); break
  }
  w.join()
}

function nestedHeader(revision: number): Header {
  return { clusterId: 0n, memberId: 0n, revision, raftTerm: 0 }
}

export function writeTxnResponse(w: ProtoWriter, header: Header, response: TxnResponse): void {
  writeHeader(w, 1, header)
  w.bool(2, response.succeeded)
  for (const op of response.responses) {
    w.fork(3)
    writeResponseOp(w, op)
    w.join()
  }
}

export function writeHeaderOnly(w: ProtoWriter, header: Header): void {
  writeHeader(w, 1, header)
}
