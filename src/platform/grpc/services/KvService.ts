// etcdserverpb.KV over the hand-written gRPC server: decode, hand to the node, encode.
import type { KvCommand, KvResult } from "../../../kv/Api.ts"
import {
  type Header,
  readCompactionRequest,
  readDeleteRangeRequest,
  readPutRequest,
  readRangeRequest,
  readTxnRequest,
  writeDeleteRangeResponse,
  writeHeaderOnly,
  writePutResponse,
  writeRangeResponse,
  writeTxnResponse,
} from "../codec/KvCodec.ts"
import type { Method } from "../Server.ts"
import { GrpcError } from "../Status.ts"
import { ProtoReader, ProtoWriter } from "../Wire.ts"

/** What the KV service needs from the node. */
export interface KvBackend {
  /** Ranges are answered locally, after a ReadIndex barrier unless serializable. */
  range(request: ReturnType<typeof readRangeRequest>): Promise<KvResult>
  /** Writes (and Txns) go through the log. */
  propose(command: KvCommand): Promise<KvResult>
  /** Checks done before proposing, as etcd's API layer does (sizes, txn op counts, duplicates). */
  validate(command: KvCommand): void
  header(revision: number): Header
}

export function throwIfError(result: KvResult): asserts result is Exclude<KvResult, { type: "Error" }> {
  if (result.type === "Error") throw new GrpcError(result.error.code as GrpcError["code"], result.error.message)
}

function encode(backend: KvBackend, result: KvResult): Uint8Array {
  throwIfError(result)
  const w = new ProtoWriter()
  const header = backend.header(result.response.header.revision)
  switch (result.type) {
    case "Range": writeRangeResponse(w, header, result.response); break
    case "Put": writePutResponse(w, header, result.response); break
    case "DeleteRange": writeDeleteRangeResponse(w, header, result.response); break
    case "Txn": writeTxnResponse(w, header, result.response); break
    case "Compaction": writeHeaderOnly(w, header); break
    default: throw new Error(`KV service: unexpected result ${result.type}`)
  }
  return w.finish()
}

export function kvMethods(backend: KvBackend): Map<string, Method> {
  // Not async, and one shared continuation: an async frame per write showed in allocation profiles.
  const encodeResult = (result: KvResult): Uint8Array => encode(backend, result)
  const proposeAndEncode = (command: KvCommand): Promise<Uint8Array> => {
    backend.validate(command) // throws before proposing; the server answers the error
    return backend.propose(command).then(encodeResult)
  }
  return new Map<string, Method>([
    ["/etcdserverpb.KV/Range", {
      kind: "unary",
      handle: async (bytes) => {
        const request = readRangeRequest(new ProtoReader(bytes))
        backend.validate({ type: "Range", request })
        return encode(backend, await backend.range(request))
      },
    }],
    ["/etcdserverpb.KV/Put", {
      kind: "unary",
      handle: (bytes) => proposeAndEncode({ type: "Put", request: readPutRequest(new ProtoReader(bytes)) }),
    }],
    ["/etcdserverpb.KV/DeleteRange", {
      kind: "unary",
      handle: (bytes) => proposeAndEncode({ type: "DeleteRange", request: readDeleteRangeRequest(new ProtoReader(bytes)) }),
    }],
    ["/etcdserverpb.KV/Txn", {
      kind: "unary",
      handle: (bytes) => proposeAndEncode({ type: "Txn", request: readTxnRequest(new ProtoReader(bytes)) }),
    }],
    ["/etcdserverpb.KV/Compact", {
      kind: "unary",
      handle: (bytes) => proposeAndEncode({ type: "Compaction", request: readCompactionRequest(new ProtoReader(bytes)) }),
    }],
  ])
}
