// Request constructors with proto3 defaults: name the fields you set, the rest are zero/empty/false,
// exactly as a gRPC client that leaves them unset would send them.
import {
  NoLease,
  SortOrder,
  SortTarget,
  type Compare,
  type CompareResult,
  type DeleteRangeRequest,
  type LeaseId,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from "./Api.ts"
import { EMPTY_BYTES } from "./Bytes.ts"

const encoder = new TextEncoder()

/** UTF-8 bytes of a string: a convenience for tests and tools. */
export const utf8 = (text: string): Uint8Array => encoder.encode(text)

export function rangeRequest(fields: Partial<RangeRequest> & Pick<RangeRequest, "key">): RangeRequest {
  return {
    rangeEnd: EMPTY_BYTES,
    limit: 0,
    revision: 0,
    sortOrder: SortOrder.NONE,
    sortTarget: SortTarget.KEY,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...fields,
  }
}

export function putRequest(fields: Partial<PutRequest> & Pick<PutRequest, "key">): PutRequest {
  return {
    value: EMPTY_BYTES,
    lease: NoLease,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
    ...fields,
  }
}

export function deleteRangeRequest(
  fields: Partial<DeleteRangeRequest> & Pick<DeleteRangeRequest, "key">,
): DeleteRangeRequest {
  return { rangeEnd: EMPTY_BYTES, prevKv: false, ...fields }
}

export function txnRequest(fields: Partial<TxnRequest> = {}): TxnRequest {
  return { compare: [], success: [], failure: [], ...fields }
}

type CompareTarget =
  | { readonly target: "VERSION"; readonly version: number }
  | { readonly target: "CREATE"; readonly createRevision: number }
  | { readonly target: "MOD"; readonly modRevision: number }
  | { readonly target: "VALUE"; readonly value: Uint8Array }
  | { readonly target: "LEASE"; readonly lease: LeaseId }

export function compare(
  key: Uint8Array,
  result: CompareResult,
  target: CompareTarget,
  rangeEnd: Uint8Array = EMPTY_BYTES,
): Compare {
  return { key, rangeEnd, result, ...target }
}

export const rangeOp = (request: RangeRequest): RequestOp => ({ type: "Range", request })
export const putOp = (request: PutRequest): RequestOp => ({ type: "Put", request })
export const deleteRangeOp = (request: DeleteRangeRequest): RequestOp => ({ type: "DeleteRange", request })
export const txnOp = (request: TxnRequest): RequestOp => ({ type: "Txn", request })
