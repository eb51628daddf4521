// The request checks etcd's gRPC layer makes before proposing (etcdserver/api/v3rpc/key.go):
// empty keys, ignore_value/ignore_lease misuse, the txn op limit and the duplicate-key rule.
// They are pure and deterministic, so the core runs them again on apply: a command that skipped
// them still gets etcd's answer.
import { NoLease, type Bytes, type KvCommand, type KvError, type RequestOp, type TxnRequest } from "./Api.ts"
import { KvErrors } from "./Errors.ts"

export function validateCommand(command: KvCommand, maxTxnOps: number): KvError | undefined {
  switch (command.type) {
    case "Txn":
      return checkTxn(command.request, maxTxnOps) ??
        checkIntervals(command.request.success).error ??
        checkIntervals(command.request.failure).error
    case "Range":
    case "Put":
    case "DeleteRange":
      return checkOp(command, maxTxnOps)
    case "Compaction":
    case "LeaseGrant":
    case "LeaseRevoke":
      return undefined
  }
}

function checkOp(op: RequestOp, maxTxnOps: number): KvError | undefined {
  switch (op.type) {
    case "Range":
    case "DeleteRange":
      return op.request.key.length === 0 ? KvErrors.emptyKey : undefined
    case "Put": {
      const request = op.request
      if (request.key.length === 0) return KvErrors.emptyKey
      if (request.ignoreValue && request.value.length !== 0) return KvErrors.valueProvided
      if (request.ignoreLease && request.lease !== NoLease) return KvErrors.leaseProvided
      return undefined
    }
    case "Txn":
      return checkTxn(op.request, maxTxnOps)
  }
}

/** etcd's checkTxnRequest: nested txns get the budget left after this level's widest list. */
function checkTxn(request: TxnRequest, maxTxnOps: number): KvError | undefined {
  const width = Math.max(request.compare.length, request.success.length, request.failure.length)
  if (width > maxTxnOps) return KvErrors.tooManyOps
  for (const compare of request.compare) if (compare.key.length === 0) return KvErrors.emptyKey
  for (const op of request.success) {
    const error = checkOp(op, maxTxnOps - width)
    if (error !== undefined) return error
  }
  for (const op of request.failure) {
    const error = checkOp(op, maxTxnOps - width)
    if (error !== undefined) return error
  }
  return undefined
}

/** Keys as byte-per-char strings: JS string order is then Go's bytewise string order. */
function asString(bytes: Bytes): string {
  let text = ""
  for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096))
  return text
}

/** A deleted span [begin, end); a single key k is [k, k + "\0"). */
interface Span {
  readonly begin: string
  readonly end: string
}

/** adt's interval test against the point [key, key+"\0"): begin <= key < end. */
const covers = (spans: ReadonlyArray<Span>, key: string): boolean =>
  spans.some((span) => span.begin <= key && key < span.end)

interface Intervals {
  readonly puts: Set<string>
  readonly deletes: Span[]
  readonly error: KvError | undefined
}

/**
 * etcd's checkIntervals: no key may be put twice, or put and deleted, in one txn, counting nested
 * txns (a key put in both branches of one nested txn is fine). Like etcd, a delete whose range_end
 * is "\0" spans nothing here, and this level's puts are checked after all its nested txns.
 */
function checkIntervals(ops: ReadonlyArray<RequestOp>): Intervals {
  const deletes: Span[] = []
  for (const op of ops) {
    if (op.type !== "DeleteRange") continue
    const begin = asString(op.request.key)
    deletes.push({ begin, end: op.request.rangeEnd.length === 0 ? begin + "\0" : asString(op.request.rangeEnd) })
  }
  const puts = new Set<string>()
  const failed = (error: KvError): Intervals => ({ puts, deletes, error })
  for (const op of ops) {
    if (op.type !== "Txn") continue
    const then = checkIntervals(op.request.success)
    if (then.error !== undefined) return failed(then.error)
    const otherwise = checkIntervals(op.request.failure)
    if (otherwise.error !== undefined) return failed(otherwise.error)
    for (const key of then.puts) {
      if (puts.has(key) || covers(deletes, key)) return failed(KvErrors.duplicateKey)
      puts.add(key)
    }
    for (const key of otherwise.puts) {
      if (puts.has(key) && !then.puts.has(key)) return failed(KvErrors.duplicateKey)
      if (covers(deletes, key)) return failed(KvErrors.duplicateKey)
      puts.add(key)
    }
    // etcd unions only spans overlapping ["\0", ∞): every well-formed span does.
    for (const span of [...then.deletes, ...otherwise.deletes]) if (span.begin < span.end) deletes.push(span)
  }
  for (const op of ops) {
    if (op.type !== "Put") continue
    const key = asString(op.request.key)
    if (puts.has(key) || covers(deletes, key)) return failed(KvErrors.duplicateKey)
    puts.add(key)
  }
  return { puts, deletes, error: undefined }
}
