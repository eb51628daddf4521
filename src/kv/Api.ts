// The vocabulary of the KV core: etcd 3.4's v3 requests and responses as plain data.
//
// Field names are the camelCase of etcdserverpb's (rpc.proto) and mvccpb's (kv.proto), and enum
// values are the protobuf numbers, so the gRPC layer maps them one to one. Every field is
// present (proto3 has no "unset" for scalars): `rangeRequest({ key })` and friends fill the
// defaults. Revisions, versions and counts are numbers (a store would need 2^53 writes to
// overflow); lease IDs are bigint because etcd hands out IDs across the whole int64 range.

export type Bytes = Uint8Array
export type LeaseId = bigint
export const NoLease: LeaseId = 0n

/** mvccpb.KeyValue */
export interface KeyValue {
  readonly key: Bytes
  readonly createRevision: number
  readonly modRevision: number
  readonly version: number
  readonly value: Bytes
  readonly lease: LeaseId
}

/** mvccpb.Event.EventType */
export const EventType = { PUT: 0, DELETE: 1 } as const
export type EventType = (typeof EventType)[keyof typeof EventType]

/** mvccpb.Event. A DELETE event's kv carries the key and the deletion's modRevision only. */
export interface Event {
  readonly type: EventType
  readonly kv: KeyValue
  readonly prevKv: KeyValue | undefined
}

/** The part of etcdserverpb.ResponseHeader the store decides; the server adds cluster/member/term. */
export interface ResponseHeader {
  readonly revision: number
}

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder]
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget]

export interface RangeRequest {
  readonly key: Bytes
  /** Empty: the single key. "\0": every key >= key. Otherwise [key, rangeEnd). */
  readonly rangeEnd: Bytes
  readonly limit: number
  /** 0: the current revision. */
  readonly revision: number
  readonly sortOrder: SortOrder
  readonly sortTarget: SortTarget
  readonly serializable: boolean
  readonly keysOnly: boolean
  readonly countOnly: boolean
  readonly minModRevision: number
  readonly maxModRevision: number
  readonly minCreateRevision: number
  readonly maxCreateRevision: number
}
export interface RangeResponse {
  readonly header: ResponseHeader
  readonly kvs: ReadonlyArray<KeyValue>
  readonly more: boolean
  readonly count: number
}

export interface PutRequest {
  readonly key: Bytes
  readonly value: Bytes
  readonly lease: LeaseId
  readonly prevKv: boolean
  readonly ignoreValue: boolean
  readonly ignoreLease: boolean
}
export interface PutResponse {
  readonly header: ResponseHeader
  readonly prevKv: KeyValue | undefined
}

export interface DeleteRangeRequest {
  readonly key: Bytes
  readonly rangeEnd: Bytes
  readonly prevKv: boolean
}
export interface DeleteRangeResponse {
  readonly header: ResponseHeader
  readonly deleted: number
  readonly prevKvs: ReadonlyArray<KeyValue>
}

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult]

/** etcdserverpb.Compare; `target` says which member of the target_union is meant. */
export type Compare = {
  readonly result: CompareResult
  readonly key: Bytes
  readonly rangeEnd: Bytes
} & (
  | { readonly target: "VERSION"; readonly version: number }
  | { readonly target: "CREATE"; readonly createRevision: number }
  | { readonly target: "MOD"; readonly modRevision: number }
  | { readonly target: "VALUE"; readonly value: Bytes }
  | { readonly target: "LEASE"; readonly lease: LeaseId }
)

/** etcdserverpb.RequestOp (the oneof). */
export type RequestOp =
  | { readonly type: "Range"; readonly request: RangeRequest }
  | { readonly type: "Put"; readonly request: PutRequest }
  | { readonly type: "DeleteRange"; readonly request: DeleteRangeRequest }
  | { readonly type: "Txn"; readonly request: TxnRequest }

/** etcdserverpb.ResponseOp (the oneof). */
export type ResponseOp =
  | { readonly type: "Range"; readonly response: RangeResponse }
  | { readonly type: "Put"; readonly response: PutResponse }
  | { readonly type: "DeleteRange"; readonly response: DeleteRangeResponse }
  | { readonly type: "Txn"; readonly response: TxnResponse }

export interface TxnRequest {
  readonly compare: ReadonlyArray<Compare>
  readonly success: ReadonlyArray<RequestOp>
  readonly failure: ReadonlyArray<RequestOp>
}
export interface TxnResponse {
  readonly header: ResponseHeader
  readonly succeeded: boolean
  readonly responses: ReadonlyArray<ResponseOp>
}

export interface CompactionRequest {
  readonly revision: number
  readonly physical: boolean
}
export interface CompactionResponse {
  readonly header: ResponseHeader
}

export interface LeaseGrantRequest {
  /** Seconds. */
  readonly ttl: number
  /** 0: the server chooses; the proposing leader fills it in before the entry is replicated. */
  readonly id: LeaseId
}
export interface LeaseGrantResponse {
  readonly header: ResponseHeader
  readonly id: LeaseId
  readonly ttl: number
}
export interface LeaseRevokeRequest {
  readonly id: LeaseId
}
export interface LeaseRevokeResponse {
  readonly header: ResponseHeader
}

/**
 * A gRPC status code and etcd's exact message. `code` uses gRPC's numbering (3 INVALID_ARGUMENT,
 * 5 NOT_FOUND, 11 OUT_OF_RANGE, 8 RESOURCE_EXHAUSTED, ...), as etcd's rpctypes do.
 */
export interface KvError {
  readonly code: number
  readonly message: string
}

export interface LeaseTimeToLiveRequest {
  readonly id: LeaseId
  readonly keys: boolean
}
/** `ttl` is the remaining seconds (-1 once expired or unknown); the shell's lease clock supplies it. */
export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader
  readonly id: LeaseId
  readonly ttl: number
  readonly grantedTtl: number
  readonly keys: ReadonlyArray<Bytes>
}
export interface LeaseLeasesResponse {
  readonly header: ResponseHeader
  readonly leases: ReadonlyArray<{ readonly id: LeaseId }>
}

// ---- What Raft replicates ----

/**
 * A command carried by a Normal Raft entry (etcd's InternalRaftRequest, trimmed to the KV and
 * lease requests). Linearizable reads normally go through ReadIndex instead, but a Range may also
 * be replicated, as etcd 3.4 does for reads inside a Txn.
 */
export type KvCommand =
  | { readonly type: "Range"; readonly request: RangeRequest }
  | { readonly type: "Put"; readonly request: PutRequest }
  | { readonly type: "DeleteRange"; readonly request: DeleteRangeRequest }
  | { readonly type: "Txn"; readonly request: TxnRequest }
  | { readonly type: "Compaction"; readonly request: CompactionRequest }
  | { readonly type: "LeaseGrant"; readonly request: LeaseGrantRequest }
  | { readonly type: "LeaseRevoke"; readonly request: LeaseRevokeRequest }

/** The answer to one command: the response for its type, or etcd's error. */
export type KvResult =
  | { readonly type: "Range"; readonly response: RangeResponse }
  | { readonly type: "Put"; readonly response: PutResponse }
  | { readonly type: "DeleteRange"; readonly response: DeleteRangeResponse }
  | { readonly type: "Txn"; readonly response: TxnResponse }
  | { readonly type: "Compaction"; readonly response: CompactionResponse }
  | { readonly type: "LeaseGrant"; readonly response: LeaseGrantResponse }
  | { readonly type: "LeaseRevoke"; readonly response: LeaseRevokeResponse }
  | { readonly type: "Error"; readonly error: KvError }
