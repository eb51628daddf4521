// Mapping between src/kv/Api.ts and etcd's gRPC messages as test/support/EtcdClient.ts shapes
// them, so one KvCommand can be sent to real etcd and applied to the core, and etcd's answer
// read back as a KvResult to compare with the core's.
import type {
  Bytes,
  Compare,
  KeyValue,
  KvCommand,
  KvResult,
  LeaseId,
  LeaseLeasesResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
  PutResponse,
  DeleteRangeResponse,
} from "../../src/kv/index.ts"
import type { HashKvResult } from "../../src/kv/index.ts"
import { assert, assertNever } from "../../src/assert.ts"
import type { CallOutcome, EtcdService, WireMessage } from "../support/EtcdClient.ts"

export interface WireCall {
  readonly service: EtcdService
  readonly method: string
  readonly request: object
}

// ---- Requests ----

export function wireCallOf(command: KvCommand): WireCall {
  switch (command.type) {
    case "Range":
      return { service: "KV", method: "Range", request: wireRange(command.request) }
    case "Put":
      return { service: "KV", method: "Put", request: wirePut(command.request) }
    case "DeleteRange":
      return { service: "KV", method: "DeleteRange", request: wireDelete(command.request) }
    case "Txn":
      return { service: "KV", method: "Txn", request: wireTxn(command.request) }
    case "Compaction":
      return {
        service: "KV",
        method: "Compact",
        request: { revision: String(command.request.revision), physical: command.request.physical },
      }
    case "LeaseGrant":
      return {
        service: "Lease",
        method: "LeaseGrant",
        request: { TTL: String(command.request.ttl), ID: command.request.id.toString() },
      }
    case "LeaseRevoke":
      return { service: "Lease", method: "LeaseRevoke", request: { ID: command.request.id.toString() } }
    default:
      return assertNever(command, "command")
  }
}

export function wireTimeToLiveCall(request: LeaseTimeToLiveRequest): WireCall {
  return {
    service: "Lease",
    method: "LeaseTimeToLive",
    request: { ID: request.id.toString(), keys: request.keys },
  }
}

export const wireLeasesCall: WireCall = { service: "Lease", method: "LeaseLeases", request: {} }

export function wireHashKvCall(revision: number): WireCall {
  return { service: "Maintenance", method: "HashKV", request: { revision: String(revision) } }
}

function buffer(bytes: Bytes): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * A bytes field as etcd's Go client sends it: left out when empty. This matters: protobufjs would
 * encode an empty Buffer as a present field, gogoproto decodes that as a non-nil empty slice, and
 * etcd 3.4 reads a present-but-empty range_end as "every key from `key` on", not "just `key`".
 */
function optionalBuffer(bytes: Bytes): Buffer | undefined {
  return bytes.length === 0 ? undefined : buffer(bytes)
}

function wireRange(request: RangeRequest): object {
  return {
    key: optionalBuffer(request.key),
    rangeEnd: optionalBuffer(request.rangeEnd),
    limit: String(request.limit),
    revision: String(request.revision),
    sortOrder: request.sortOrder,
    sortTarget: request.sortTarget,
    serializable: request.serializable,
    keysOnly: request.keysOnly,
    countOnly: request.countOnly,
    minModRevision: String(request.minModRevision),
    maxModRevision: String(request.maxModRevision),
    minCreateRevision: String(request.minCreateRevision),
    maxCreateRevision: String(request.maxCreateRevision),
  }
}

function wirePut(request: Extract<KvCommand, { type: "Put" }>["request"]): object {
  return {
    key: optionalBuffer(request.key),
    value: optionalBuffer(request.value),
    lease: request.lease.toString(),
    prevKv: request.prevKv,
    ignoreValue: request.ignoreValue,
    ignoreLease: request.ignoreLease,
  }
}

function wireDelete(request: Extract<KvCommand, { type: "DeleteRange" }>["request"]): object {
  return { key: optionalBuffer(request.key), rangeEnd: optionalBuffer(request.rangeEnd), prevKv: request.prevKv }
}

function wireTxn(request: Extract<KvCommand, { type: "Txn" }>["request"]): object {
  return {
    compare: request.compare.map(wireCompare),
    success: request.success.map(wireRequestOp),
    failure: request.failure.map(wireRequestOp),
  }
}

const compareTargetNumber = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const

function wireCompare(compare: Compare): object {
  const common = {
    result: compare.result,
    target: compareTargetNumber[compare.target],
    key: optionalBuffer(compare.key),
    rangeEnd: optionalBuffer(compare.rangeEnd),
  }
  switch (compare.target) {
    case "VERSION":
      return { ...common, version: String(compare.version) }
    case "CREATE":
      return { ...common, createRevision: String(compare.createRevision) }
    case "MOD":
      return { ...common, modRevision: String(compare.modRevision) }
    case "VALUE":
      return { ...common, value: buffer(compare.value) }
    case "LEASE":
      return { ...common, lease: compare.lease.toString() }
    default:
      return assertNever(compare, "compare target")
  }
}

function wireRequestOp(op: RequestOp): object {
  switch (op.type) {
    case "Range":
      return { requestRange: wireRange(op.request) }
    case "Put":
      return { requestPut: wirePut(op.request) }
    case "DeleteRange":
      return { requestDeleteRange: wireDelete(op.request) }
    case "Txn":
      return { requestTxn: wireTxn(op.request) }
    default:
      return assertNever(op, "request op")
  }
}

// ---- Responses ----

/** etcd's answer to `command` as the core would give it. */
export function kvResultOfWire(command: KvCommand, outcome: CallOutcome): KvResult {
  if (!outcome.ok) return { type: "Error", error: { code: outcome.code, message: outcome.message } }
  const wire = outcome.response
  switch (command.type) {
    case "Range":
      return { type: "Range", response: rangeResponseOf(wire) }
    case "Put":
      return { type: "Put", response: putResponseOf(wire) }
    case "DeleteRange":
      return { type: "DeleteRange", response: deleteResponseOf(wire) }
    case "Txn":
      return { type: "Txn", response: txnResponseOf(wire) }
    case "Compaction":
      return { type: "Compaction", response: { header: headerOf(wire) } }
    case "LeaseGrant":
      return {
        type: "LeaseGrant",
        response: { header: headerOf(wire), id: leaseIdOf(wire.ID), ttl: intOf(wire.TTL) },
      }
    case "LeaseRevoke":
      return { type: "LeaseRevoke", response: { header: headerOf(wire) } }
    default:
      return assertNever(command, "command")
  }
}

export function timeToLiveResponseOf(wire: WireMessage): LeaseTimeToLiveResponse {
  return {
    header: headerOf(wire),
    id: leaseIdOf(wire.ID),
    ttl: intOf(wire.TTL),
    grantedTtl: intOf(wire.grantedTTL),
    keys: listOf(wire.keys).map(bytesOf),
  }
}

export function leasesResponseOf(wire: WireMessage): LeaseLeasesResponse {
  return {
    header: headerOf(wire),
    leases: listOf(wire.leases).map((status) => ({ id: leaseIdOf(messageOf(status).ID) })),
  }
}

export function hashKvResponseOf(wire: WireMessage): HashKvResult {
  assert(typeof wire.hash === "number", "a uint32 field arrives as a number")
  return { header: headerOf(wire), hash: wire.hash, compactRevision: intOf(wire.compactRevision) }
}

function headerOf(wire: WireMessage): ResponseHeader {
  return { revision: intOf(messageOf(wire.header).revision) }
}

function rangeResponseOf(wire: WireMessage): RangeResponse {
  return {
    header: headerOf(wire),
    kvs: listOf(wire.kvs).map(keyValueOf),
    more: booleanOf(wire.more),
    count: intOf(wire.count),
  }
}

function putResponseOf(wire: WireMessage): PutResponse {
  return { header: headerOf(wire), prevKv: wire.prevKv === null ? undefined : keyValueOf(wire.prevKv) }
}

function deleteResponseOf(wire: WireMessage): DeleteRangeResponse {
  return {
    header: headerOf(wire),
    deleted: intOf(wire.deleted),
    prevKvs: listOf(wire.prevKvs).map(keyValueOf),
  }
}

function txnResponseOf(wire: WireMessage): TxnResponse {
  return {
    header: headerOf(wire),
    succeeded: booleanOf(wire.succeeded),
    responses: listOf(wire.responses).map(responseOpOf),
  }
}

function responseOpOf(value: unknown): ResponseOp {
  const wire = messageOf(value)
  switch (wire.response) {
    case "responseRange":
      return { type: "Range", response: rangeResponseOf(messageOf(wire.responseRange)) }
    case "responsePut":
      return { type: "Put", response: putResponseOf(messageOf(wire.responsePut)) }
    case "responseDeleteRange":
      return { type: "DeleteRange", response: deleteResponseOf(messageOf(wire.responseDeleteRange)) }
    case "responseTxn":
      return { type: "Txn", response: txnResponseOf(messageOf(wire.responseTxn)) }
    default:
      throw new Error(`etcd sent a ResponseOp with no known member: ${String(wire.response)}`)
  }
}

function keyValueOf(value: unknown): KeyValue {
  const wire = messageOf(value)
  return {
    key: bytesOf(wire.key),
    createRevision: intOf(wire.createRevision),
    modRevision: intOf(wire.modRevision),
    version: intOf(wire.version),
    value: bytesOf(wire.value),
    lease: leaseIdOf(wire.lease),
  }
}

// ---- Scalars: proto-loader gives int64 as decimal strings and bytes as Buffers ----

function messageOf(value: unknown): WireMessage {
  assert(typeof value === "object" && value !== null, "a wire message is an object")
  return value as WireMessage
}

function listOf(value: unknown): ReadonlyArray<unknown> {
  assert(Array.isArray(value), "a repeated field is an array")
  return value
}

function intOf(value: unknown): number {
  assert(typeof value === "string", "an int64 field arrives as a decimal string")
  const number = Number(value)
  assert(Number.isSafeInteger(number), "an int64 revision, count or TTL fits a double exactly")
  return number
}

function leaseIdOf(value: unknown): LeaseId {
  assert(typeof value === "string", "a lease ID arrives as a decimal string")
  return BigInt(value)
}

function booleanOf(value: unknown): boolean {
  assert(typeof value === "boolean", "a bool field arrives as a boolean")
  return value
}

function bytesOf(value: unknown): Bytes {
  assert(value instanceof Uint8Array, "a bytes field arrives as a Buffer")
  return new Uint8Array(value)
}
