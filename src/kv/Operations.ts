// Put, DeleteRange and Txn, after etcd 3.4's applierV3backend (etcdserver/apply.go).
import { assert } from "../assert.ts"
import { NoLease, type Compare, type DeleteRangeRequest, type DeleteRangeResponse, type KeyValue,
  type PutRequest, type PutResponse, type RequestOp, type ResponseOp, type TxnRequest,
  type TxnResponse } from "./Api.ts"
import { hasBug } from "./Bugs.ts"
import { compareBytes, EMPTY_BYTES, keyString } from "./Bytes.ts"
import { fail, KvErrors } from "./Errors.ts"
import { NONE } from "./KeyIndex.ts"
import { toKeyValue } from "./KeyValues.ts"
import { rangeAt } from "./Range.ts"
import { valueOf, visibleRecords, type KvStore } from "./Store.ts"
import { WriteTxn } from "./WriteTxn.ts"

/** A Put on its own: the lease must exist; then as inside a txn. */
export function applyPut(store: KvStore, request: PutRequest): { response: PutResponse; txn: WriteTxn } {
  if (request.lease !== NoLease && !store.leases.has(request.lease)) fail(KvErrors.leaseNotFound)
  const txn = new WriteTxn(store)
  const response = putIn(txn, request)
  txn.end()
  return { response, txn }
}

function putIn(txn: WriteTxn, request: PutRequest): PutResponse {
  let value = request.value
  let lease = request.lease
  let previous: KeyValue | undefined
  if (request.ignoreValue || request.ignoreLease || request.prevKv) {
    const record = visibleRecords(txn.store, request.key, EMPTY_BYTES, txn.readRevision())[0]
    if ((request.ignoreValue || request.ignoreLease) && record === undefined) fail(KvErrors.keyNotFound)
    if (record !== undefined) {
      if (request.ignoreValue) value = valueOf(txn.store, record)
      if (request.ignoreLease) lease = txn.store.log.lease(record)
      if (request.prevKv) previous = toKeyValue(txn.store, record)
    }
  }
  const revision = txn.put(keyString(request.key), request.key, value, lease)
  return { header: { revision }, prevKv: previous }
}

export function applyDeleteRange(store: KvStore, request: DeleteRangeRequest): { response: DeleteRangeResponse; txn: WriteTxn } {
  const txn = new WriteTxn(store)
  const response = deleteRangeIn(txn, request)
  txn.end()
  return { response, txn }
}

function deleteRangeIn(txn: WriteTxn, request: DeleteRangeRequest): DeleteRangeResponse {
  const prevKvs = request.prevKv
    ? visibleRecords(txn.store, request.key, request.rangeEnd, txn.readRevision()).map((record) => toKeyValue(txn.store, record))
    : []
  const { deleted, revision } = txn.deleteRange(request.key, request.rangeEnd)
  return { header: { revision }, deleted, prevKvs }
}

/**
 * Which branch each txn takes, decided on the state before any op runs: etcd's txnPath, kept as a
 * tree (one node per txn on the chosen path, children in op order).
 */
interface TxnPath {
  readonly succeeded: boolean
  readonly nested: ReadonlyArray<TxnPath>
}

function choosePath(store: KvStore, request: TxnRequest): TxnPath {
  const succeeded = request.compare.every((compare) => compareHolds(store, compare))
  const ops = succeeded ? request.success : request.failure
  const nested = ops.flatMap((op) => (op.type === "Txn" ? [choosePath(store, op.request)] : []))
  return { succeeded, nested }
}

/** etcd's applyCompare: every key in the span must satisfy it; a missing key compares as zeros, except for VALUE. */
function compareHolds(store: KvStore, compare: Compare): boolean {
  const records = visibleRecords(store, compare.key, compare.rangeEnd, store.currentRevision)
  if (records.length === 0) {
    if (compare.target === "VALUE") return false
    return outcomeHolds(compare, compareTarget(store, compare, NONE))
  }
  return records.every((record) => outcomeHolds(compare, compareTarget(store, compare, record)))
}

/** The sign of (the row's target field - the compare's), a missing row counting as zeros. */
function compareTarget(store: KvStore, compare: Compare, record: number): number {
  const log = store.log
  const missing = record === NONE
  switch (compare.target) {
    case "VALUE":
      return compareBytes(missing ? EMPTY_BYTES : valueOf(store, record), compare.value)
    case "CREATE":
      return Math.sign((missing ? 0 : log.createRevision(record)) - compare.createRevision)
    case "MOD":
      return Math.sign((missing ? 0 : log.main(record)) - compare.modRevision)
    case "VERSION":
      return Math.sign((missing ? 0 : log.version(record)) - compare.version)
    case "LEASE": {
      const lease = missing ? NoLease : log.lease(record)
      return lease < compare.lease ? -1 : lease > compare.lease ? 1 : 0
    }
  }
}

function outcomeHolds(compare: Compare, order: number): boolean {
  switch (compare.result) {
    case 0: return order === 0 // EQUAL
    case 1: return order > 0 // GREATER
    case 2: return order < 0 // LESS
    case 3: return order !== 0 // NOT_EQUAL
  }
}

/** Visits the ops of the chosen branches, nested txns first-class, as etcd's checkRequests does. */
function forEachChosenOp(request: TxnRequest, path: TxnPath, visit: (op: RequestOp) => void): void {
  let nestedIndex = 0
  for (const op of path.succeeded ? request.success : request.failure) {
    if (op.type === "Txn") forEachChosenOp(op.request, path.nested[nestedIndex++]!, visit)
    else visit(op)
  }
}

/** etcd's isTxnReadonly: only the top level is looked at, and a nested txn counts as a write. */
const isReadOnly = (request: TxnRequest): boolean =>
  request.success.every((op) => op.type === "Range") && request.failure.every((op) => op.type === "Range")

export function applyTxn(store: KvStore, request: TxnRequest): { response: TxnResponse; txn: WriteTxn | undefined } {
  const path = choosePath(store, request)
  const readOnly = isReadOnly(request)
  if (!readOnly) forEachChosenOp(request, path, (op) => checkPutAllowed(store, op))
  forEachChosenOp(request, path, (op) => checkRangeAllowed(store, op))
  if (readOnly) {
    const revision = store.currentRevision
    const responses = runOps(store, undefined, request, path)
    const reported = hasBug(store, "TxnHeaderAlwaysNext") ? revision + 1 : revision
    return { response: { header: { revision: reported }, succeeded: path.succeeded, responses }, txn: undefined }
  }
  const txn = new WriteTxn(store)
  const responses = runOps(store, txn, request, path)
  const revision = txn.changed || hasBug(store, "TxnHeaderAlwaysNext") ? txn.beginRevision + 1 : txn.beginRevision
  txn.end()
  return { response: { header: { revision }, succeeded: path.succeeded, responses }, txn }
}

function checkPutAllowed(store: KvStore, op: RequestOp): void {
  if (op.type !== "Put") return
  const request = op.request
  if (request.ignoreValue || request.ignoreLease) {
    const live = visibleRecords(store, request.key, EMPTY_BYTES, store.currentRevision)
    if (live.length === 0) fail(KvErrors.keyNotFound)
  }
  if (request.lease !== NoLease && !store.leases.has(request.lease)) fail(KvErrors.leaseNotFound)
}

function checkRangeAllowed(store: KvStore, op: RequestOp): void {
  if (op.type !== "Range") return
  const revision = op.request.revision
  if (revision === 0) return
  if (revision > store.currentRevision) fail(KvErrors.futureRevision)
  if (revision < store.compactRevision) fail(KvErrors.compacted)
}

function runOps(store: KvStore, txn: WriteTxn | undefined, request: TxnRequest, path: TxnPath): ResponseOp[] {
  let nestedIndex = 0
  return (path.succeeded ? request.success : request.failure).map((op): ResponseOp => {
    switch (op.type) {
      case "Range":
        return { type: "Range", response: rangeAt(store, op.request, txn?.readRevision() ?? store.currentRevision) }
      case "Put":
        return { type: "Put", response: putIn(writable(txn), op.request) }
      case "DeleteRange":
        return { type: "DeleteRange", response: deleteRangeIn(writable(txn), op.request) }
      case "Txn": {
        const nestedPath = path.nested[nestedIndex++]!
        const responses = runOps(store, txn, op.request, nestedPath)
        // etcd leaves a nested txn's header empty: revision 0.
        return { type: "Txn", response: { header: { revision: 0 }, succeeded: nestedPath.succeeded, responses } }
      }
    }
  })
}

function writable(txn: WriteTxn | undefined): WriteTxn {
  assert(txn !== undefined, "a read-only txn reached a write op")
  return txn
}
