// A gRPC Put handler for tests of the gRPC server: it echoes the request back as prev_kv, so a
// client sees every field make the round trip; an empty key gets etcd's error.
import { readPutRequest, writePutResponse } from "../../src/platform/grpc/codec/KvCodec.ts"
import type { UnaryMethod } from "../../src/platform/grpc/Server.ts"
import { GrpcError, Status } from "../../src/platform/grpc/Status.ts"
import { ProtoReader, ProtoWriter } from "../../src/platform/grpc/Wire.ts"

/** The response header every echo carries; its revision is the request value's length. */
export const echoHeader = { clusterId: 14841639068965178418n, memberId: 10276657743932975437n, raftTerm: 2 }

export const echoPut: UnaryMethod = {
  kind: "unary",
  handle: (bytes) => {
    const request = readPutRequest(new ProtoReader(bytes))
    if (request.key.length === 0) throw new GrpcError(Status.INVALID_ARGUMENT, "etcdserver: key is not provided")
    const w = new ProtoWriter()
    writePutResponse(w, { ...echoHeader, revision: request.value.length }, {
      header: { revision: request.value.length },
      prevKv: { key: request.key, value: request.value, lease: request.lease, createRevision: 1, modRevision: 2, version: 3 },
    })
    return Promise.resolve(w.finish())
  },
}
