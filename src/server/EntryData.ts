// What a Normal Raft entry carries: the proposing node's request ID, then the KV command.
// The ID lets the proposer find the waiting client when the entry is applied (other nodes
// apply the same entry and find no waiter); etcd's InternalRaftRequest header does the same.
import { decodeCommand, encodeCommand } from "../kv/index.ts"
import type { KvCommand } from "../kv/Api.ts"

const REQUEST_ID_BYTES = 8

export function encodeEntryData(requestId: bigint, command: KvCommand): Uint8Array {
  const body = encodeCommand(command)
  const data = new Uint8Array(REQUEST_ID_BYTES + body.length)
  new DataView(data.buffer).setBigUint64(0, requestId)
  data.set(body, REQUEST_ID_BYTES)
  return data
}

export function decodeEntryData(data: Uint8Array): { readonly requestId: bigint; readonly command: KvCommand } {
  const requestId = new DataView(data.buffer, data.byteOffset, data.length).getBigUint64(0)
  return { requestId, command: decodeCommand(data.subarray(REQUEST_ID_BYTES)) }
}
