// Pending ReadIndex rounds of a leader (spec: readRequests[i]), in arrival order. A round is
// answered once a quorum acknowledged a heartbeat carrying its context; answering a round also
// answers every round before it, since leadership was confirmed after all of them began.
import type { LogIndex, NodeId } from "./Types.ts"

export interface ReadRequest {
  readonly context: number
  /** commitIndex when the read arrived: the read may be served once this is applied. */
  readonly index: LogIndex
  readonly acks: Set<NodeId>
}

/** Most pending ReadIndex rounds a leader keeps; beyond it new reads are refused. */
export const readRequestCountMax = 4096

export function cloneReadRequests(reads: ReadonlyArray<ReadRequest>): ReadRequest[] {
  return reads.map((r) => ({ context: r.context, index: r.index, acks: new Set(r.acks) }))
}
