// Segment files are named like etcd's: %016x-%016x.wal, the segment sequence number and the
// first log index at the cut.
import type { LogIndex } from "../../raft/Types.ts"
import { logIndex } from "../../raft/Types.ts"
import { formatHexPairName, parseHexPairName } from "./HexPairName.ts"

export interface SegmentName {
  readonly segmentSeq: number
  readonly firstIndex: LogIndex
  readonly fileName: string
}

export function segmentFileName(segmentSeq: number, firstIndex: LogIndex): string {
  return formatHexPairName(segmentSeq, firstIndex, ".wal")
}

export function parseSegmentFileName(fileName: string): SegmentName | undefined {
  const pair = parseHexPairName(fileName, ".wal")
  if (pair === undefined) return undefined
  return { segmentSeq: pair[0], firstIndex: logIndex(pair[1]), fileName }
}

/** The file a segment is prepared in (zero-filled) before it gets its header and its name. */
export const preparedSegmentFileName = "next.wal.tmp"
