// etcdserverpb Watch messages. Field numbers from etcd's rpc.proto and mvccpb/kv.proto (facts).
import type { Bytes, Event } from "../../../kv/Api.ts"
import type { ProtoReader, ProtoWriter } from "../Wire.ts"
import { type Header, writeHeader, writeKeyValue } from "./KvCodec.ts"

const EMPTY: Uint8Array = new Uint8Array(0)

export interface WatchCreateRequest {
  readonly key: Bytes
  readonly rangeEnd: Bytes
  readonly startRevision: number
  readonly progressNotify: boolean
  readonly filterPut: boolean
  readonly filterDelete: boolean
  readonly prevKv: boolean
  readonly watchId: number
  readonly fragment: boolean
}

export type WatchRequest =
  | { readonly type: "Create"; readonly request: WatchCreateRequest }
  | { readonly type: "Cancel"; readonly watchId: number }
  | { readonly type: "Progress" }
  | { readonly type: "Empty" }

export function readWatchRequest(r: ProtoReader): WatchRequest {
  let request: WatchRequest = { type: "Empty" }
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: request = { type: "Create", request: readCreate(r.nested()) }; break
      case 2: request = { type: "Cancel", watchId: readCancelId(r.nested()) }; break
      case 3: r.skip(tag & 7); request = { type: "Progress" }; break
      default: r.skip(tag & 7)
    }
  }
  return request
}

function readCreate(r: ProtoReader): WatchCreateRequest {
  let key = EMPTY, rangeEnd = EMPTY, startRevision = 0, progressNotify = false
  let filterPut = false, filterDelete = false, prevKv = false, watchId = 0, fragment = false
  const filter = (value: number): void => {
    if (value === 0) filterPut = true // NOPUT
    else if (value === 1) filterDelete = true // NODELETE
  }
  while (!r.done) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1: key = r.bytesField(); break
      case 2: rangeEnd = r.bytesField(); break
      case 3: startRevision = r.int64(); break
      case 4: progressNotify = r.bool(); break
      case 5:
        if ((tag & 7) === 2) {
          // Packed repeated enum (proto3's default encoding).
          const packed = r.nested()
          while (!packed.done) filter(packed.uint32())
        } else filter(r.uint32())
        break
      case 6: prevKv = r.bool(); break
      case 7: watchId = r.int64(); break
      case 8: fragment = r.bool(); break
      default: r.skip(tag & 7)
    }
  }
  return { key, rangeEnd, startRevision, progressNotify, filterPut, filterDelete, prevKv, watchId, fragment }
}

function readCancelId(r: ProtoReader): number {
  let id = 0
  while (!r.done) {
    const tag = r.tag()
    if (tag >>> 3 === 1) id = r.int64()
    else r.skip(tag & 7)
  }
  return id
}

export interface WatchResponse {
  readonly watchId: number
  readonly created: boolean
  readonly canceled: boolean
  readonly compactRevision: number
  readonly cancelReason: string
  readonly fragment: boolean
  readonly events: ReadonlyArray<Event>
}

export function writeWatchResponse(w: ProtoWriter, header: Header, response: WatchResponse): void {
  writeHeader(w, 1, header)
  w.int64(2, response.watchId)
  w.bool(3, response.created)
  w.bool(4, response.canceled)
  w.int64(5, response.compactRevision)
  w.string(6, response.cancelReason)
  w.bool(7, response.fragment)
  for (const event of response.events) {
    w.fork(11)
    w.uint(1, event.type)
    writeKeyValue(w, 2, event.kv)
    if (event.prevKv !== undefined) writeKeyValue(w, 3, event.prevKv)
    w.join()
  }
}
