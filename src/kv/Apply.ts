// The state machine's entry point: one command in, etcd's answer and the revision's watch events out.
import { assert, assertNever } from "../assert.ts"
import type { Entry } from "../raft/Types.ts"
import type { Event, KvCommand, KvResult, RangeRequest, RangeResponse } from "./Api.ts"
import { decodeCommand } from "./CommandCodec.ts"
import { applyCompaction } from "./Compaction.ts"
import { KvRequestError } from "./Errors.ts"
import { applyLeaseGrant, applyLeaseRevoke } from "./Leases.ts"
import { applyDeleteRange, applyPut, applyTxn } from "./Operations.ts"
import { rangeAt } from "./Range.ts"
import type { KvStore } from "./Store.ts"
import { validateCommand } from "./Validate.ts"

export interface Applied {
  readonly result: KvResult
  /** The changes of the revision this command wrote, in sub-revision order (empty if none). */
  readonly events: ReadonlyArray<Event>
}

const NO_EVENTS: ReadonlyArray<Event> = []

/** Applies one command in place. Errors are answers (etcd's texts), never exceptions. */
export function apply(store: KvStore, command: KvCommand): Applied {
  const revisionBefore = store.currentRevision
  try {
    const invalid = validateCommand(command, store.config.maxTxnOps)
    if (invalid !== undefined) return { result: { type: "Error", error: invalid }, events: NO_EVENTS }
    return dispatch(store, command)
  } catch (error) {
    if (!(error instanceof KvRequestError)) throw error
    // Every check runs before the first write, so a refused command changed nothing.
    assert(store.currentRevision === revisionBefore, "a refused command changed the store")
    return { result: { type: "Error", error: error.error }, events: NO_EVENTS }
  }
}

function dispatch(store: KvStore, command: KvCommand): Applied {
  switch (command.type) {
    case "Range":
      return { result: { type: "Range", response: rangeAt(store, command.request, store.currentRevision) }, events: NO_EVENTS }
    case "Put": {
      const { response, txn } = applyPut(store, command.request)
      return { result: { type: "Put", response }, events: txn.events }
    }
    case "DeleteRange": {
      const { response, txn } = applyDeleteRange(store, command.request)
      return { result: { type: "DeleteRange", response }, events: txn.events }
    }
    case "Txn": {
      const { response, txn } = applyTxn(store, command.request)
      return { result: { type: "Txn", response }, events: txn?.events ?? NO_EVENTS }
    }
    case "Compaction":
      return { result: { type: "Compaction", response: applyCompaction(store, command.request) }, events: NO_EVENTS }
    case "LeaseGrant":
      return { result: { type: "LeaseGrant", response: applyLeaseGrant(store, command.request) }, events: NO_EVENTS }
    case "LeaseRevoke": {
      const { response, txn } = applyLeaseRevoke(store, command.request)
      return { result: { type: "LeaseRevoke", response }, events: txn.events }
    }
    default:
      return assertNever(command, "command")
  }
}

/**
 * A read outside the log (ReadIndex or serializable): the same answer a replicated Range would get
 * at this point. Errors come back as an Error result.
 */
export function range(store: KvStore, request: RangeRequest): { type: "Range"; response: RangeResponse } | Extract<KvResult, { type: "Error" }> {
  const applied = apply(store, { type: "Range", request })
  const result = applied.result
  assert(result.type === "Range" || result.type === "Error", "a range answered with another type")
  return result
}

/**
 * Applies a committed Raft entry: a Normal entry with data carries one encoded command; the new
 * leader's empty no-op and configuration entries change nothing here.
 */
export function applyEntry(store: KvStore, entry: Entry): Applied | undefined {
  if (entry.type !== "Normal" || entry.data.length === 0) return undefined
  return apply(store, decodeCommand(entry.data))
}
