// etcdserverpb Lease messages. Field numbers from etcd's rpc.proto (protocol facts).
import type { LeaseGrantRequest, LeaseId, LeaseTimeToLiveRequest } from "../../../kv/Api.ts"
import { readField1, type ProtoReader, type ProtoWriter } from "../Wire.ts"
import { type Header, writeHeader } from "./KvCodec.ts"

export function readLeaseGrantRequest(r: ProtoReader): LeaseGrantRequest {
  let ttl = 0, id = 0n
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: ttl = r.int64(); break
      case 2: id = r.int64Big(); break
      default: r.skip(tag & 7)
    }
  }
  return { ttl, id }
}

/** LeaseRevokeRequest, LeaseKeepAliveRequest: just the ID in field 1. */
export function readLeaseId(r: ProtoReader): LeaseId {
  return readField1(r, (field) => field.int64Big(), 0n)
}

export function readLeaseTimeToLiveRequest(r: ProtoReader): LeaseTimeToLiveRequest {
  let id = 0n, keys = false
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: id = r.int64Big(); break
      case 2: keys = r.bool(); break
      default: r.skip(tag & 7)
    }
  }
  return { id, keys }
}

/** LeaseGrantResponse (error left empty: etcd reports errors as statuses) and LeaseKeepAliveResponse. */
export function writeLeaseIdTtl(w: ProtoWriter, header: Header, id: LeaseId, ttl: number): void {
  writeHeader(w, 1, header)
  w.int64Big(2, id)
  w.int64(3, ttl)
}

export function writeLeaseTimeToLiveResponse(
  w: ProtoWriter,
  header: Header,
  response: { readonly id: LeaseId; readonly ttl: number; readonly grantedTtl: number; readonly keys: ReadonlyArray<Uint8Array> },
): void {
  writeHeader(w, 1, header)
  w.int64Big(2, response.id)
  w.int64(3, response.ttl)
  w.int64(4, response.grantedTtl)
  for (const key of response.keys) w.bytesAlways(5, key)
}

export function writeLeaseLeasesResponse(w: ProtoWriter, header: Header, ids: ReadonlyArray<LeaseId>): void {
  writeHeader(w, 1, header)
  for (const id of ids) {
    w.fork(2)
    w.int64Big(1, id)
    w.join()
  }
}
