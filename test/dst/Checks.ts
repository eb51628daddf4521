// The run's safety checks, apart from linearizability (src/check): replicas that applied the
// same index hold the same store, every replica applies the same entry at an index (state
// machine safety), and every acknowledged write is in every replica's history at its revision.
import { hashKV, range, rangeRequest, utf8 } from "../../src/kv/index.ts"
import { crc32c } from "../../src/kv/index.ts"
import type { Entry, NodeId } from "../../src/raft/Types.ts"
import type { AckedWrite } from "./SimClient.ts"
import type { SimServer } from "./SimServer.ts"

export type FailureKind =
  | "linearizability"
  | "lostWrite"
  | "storeDivergence"
  | "appliedEntryMismatch"
  | "leaseKeyAfterRevoke"
  | "liveness"
  | "nodeAssertion"
  | "exception"

export interface Failure {
  readonly kind: FailureKind
  readonly detail: string
}

/** State machine safety: the first entry applied at each index, as "term:crc32c(data)". */
export class AppliedEntries {
  private readonly byIndex = new Map<number, { readonly node: NodeId; readonly identity: string }>()

  /** A failure if `node` applies a different entry at an index another replica applied. */
  observe(node: NodeId, entry: Entry): Failure | undefined {
    const identity = `${entry.term}:${crc32c(0, entry.data)}`
    const first = this.byIndex.get(entry.index)
    if (first === undefined) {
      this.byIndex.set(entry.index, { node, identity })
      return undefined
    }
    if (first.identity === identity) return undefined
    return {
      kind: "appliedEntryMismatch",
      detail: `node ${node} applied entry (term:crc) ${identity} at index ${entry.index}, ` +
        `node ${first.node} applied ${first.identity}`,
    }
  }
}

/** Replicas (up, not paused) that applied the same index must have equal store hashes. */
export function compareStores(servers: ReadonlyArray<SimServer>): Failure | undefined {
  const byApplied = new Map<number, { readonly id: NodeId; readonly hash: number }>()
  for (const server of servers) {
    if (server.state !== "up" || server.node === undefined || server.machine === undefined) continue
    const hashed = hashKV(server.machine.store, 0)
    if (hashed.type !== "HashKV") continue
    const applied = server.node.appliedIndex
    const other = byApplied.get(applied)
    if (other === undefined) byApplied.set(applied, { id: server.id, hash: hashed.response.hash })
    else if (other.hash !== hashed.response.hash) {
      return {
        kind: "storeDivergence",
        detail: `nodes ${other.id} and ${server.id} both applied index ${applied} but their store hashes differ ` +
          `(${other.hash.toString(16)} vs ${hashed.response.hash.toString(16)})`,
      }
    }
  }
  return undefined
}

/**
 * Every acknowledged write must be visible at its revision on every replica that reached that
 * revision (the liveness phase makes every replica reach the last one; a lagging replica is
 * not wrong, and a write missing everywhere also fails the final reads' linearizability).
 */
export function findLostWrite(
  servers: ReadonlyArray<SimServer>, acked: ReadonlyArray<AckedWrite>,
): Failure | undefined {
  for (const server of servers) {
    const machine = server.machine
    if (machine === undefined) continue
    for (const write of acked) {
      if (machine.store.currentRevision < write.revision) continue
      const result = range(machine.store, rangeRequest({ key: utf8(write.key), revision: write.revision }))
      const found = result.type === "Range" ? result.response.kvs[0] : undefined
      const value = found === undefined ? null : new TextDecoder().decode(found.value)
      if (result.type === "Range" && value === write.value) continue
      const seen = result.type === "Range" ? JSON.stringify(value) : result.error.message
      return {
        kind: "lostWrite",
        detail: `acknowledged write ${write.key}=${JSON.stringify(write.value)} at revision ${write.revision} ` +
          `is not on node ${server.id} (it reads ${seen} there at that revision; store at revision ` +
          `${machine.store.currentRevision})`,
      }
    }
  }
  return undefined
}
