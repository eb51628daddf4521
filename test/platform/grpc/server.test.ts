// The hand-written gRPC server against a real gRPC client (@grpc/grpc-js) speaking etcd's protos:
// unary calls, statuses with etcd's error text, bidirectional streams, and bad input.
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { grpcConnectionListener, type Method } from "../../../src/platform/grpc/Server.ts"
import { GrpcError, Status } from "../../../src/platform/grpc/Status.ts"
import { echoPut } from "../../support/EchoPut.ts"
import { ProtoWriter } from "../../../src/platform/grpc/Wire.ts"

const maxReceiveMessageBytes = 1024

const methods = new Map<string, Method>([
  ["/etcdserverpb.KV/Put", echoPut],
  ["/etcdserverpb.Watch/Watch", {
    kind: "stream",
    open: (call) => ({
      // Each request is answered by a WatchResponse whose watch_id counts the requests so far.
      onMessage: () => {
        const w = new ProtoWriter()
        w.uint(2, ++received)
        call.send(w.finish())
        if (received === 3) call.end(new GrpcError(Status.OUT_OF_RANGE, "mvcc: required revision has been compacted"))
      },
      onEnd: () => {},
    }),
  }],
])
let received = 0

let server: net.Server
let address: string
let kvClient: any
let watchClient: any

beforeAll(async () => {
  server = net.createServer(grpcConnectionListener({ methods, maxReceiveMessageBytes }))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`
  const definition = protoLoader.loadSync("etcdserverpb/rpc.proto", {
    includeDirs: ["proto"], keepCase: true, longs: String, defaults: true,
  })
  const api = grpc.loadPackageDefinition(definition) as any
  kvClient = new api.etcdserverpb.KV(address, grpc.credentials.createInsecure())
  watchClient = new api.etcdserverpb.Watch(address, grpc.credentials.createInsecure())
})

afterAll(async () => {
  kvClient.close()
  watchClient.close()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

function put(request: object): Promise<any> {
  return new Promise((resolve, reject) => kvClient.Put(request, (error: unknown, response: unknown) => (error ? reject(error) : resolve(response))))
}

describe("gRPC server", () => {
  it("answers a unary call; int64 and uint64 fields survive exactly", async () => {
    const response = await put({ key: Buffer.from("k"), value: Buffer.from("hello"), lease: "-9223372036854775807", prev_kv: true })
    expect(response.header).toEqual({ cluster_id: "14841639068965178418", member_id: "10276657743932975437", revision: "5", raft_term: "2" })
    expect(response.prev_kv.key.toString()).toBe("k")
    expect(response.prev_kv.value.toString()).toBe("hello")
    expect(response.prev_kv.lease).toBe("-9223372036854775807")
    expect([response.prev_kv.create_revision, response.prev_kv.mod_revision, response.prev_kv.version]).toEqual(["1", "2", "3"])
  })

  it("carries a handler's status and etcd's error text", async () => {
    await expect(put({ key: Buffer.alloc(0) })).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: "etcdserver: key is not provided" })
  })

  it("answers an unknown method and an unknown service with UNIMPLEMENTED", async () => {
    const range = new Promise((resolve, reject) => kvClient.Range({ key: Buffer.from("a") }, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))))
    await expect(range).rejects.toMatchObject({ code: Status.UNIMPLEMENTED, details: "unknown method Range for service etcdserverpb.KV" })
    const lease = new grpc.Client(address, grpc.credentials.createInsecure())
    const call = new Promise((resolve, reject) =>
      lease.makeUnaryRequest("/etcdserverpb.Lease/LeaseGrant", (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (e, r) => (e ? reject(e) : resolve(r))))
    await expect(call).rejects.toMatchObject({ code: Status.UNIMPLEMENTED, details: "unknown service etcdserverpb.Lease" })
    lease.close()
  })

  it("refuses an oversized request with RESOURCE_EXHAUSTED and goes on serving", async () => {
    await expect(put({ key: Buffer.from("k"), value: Buffer.alloc(4096) })).rejects.toMatchObject({
      code: Status.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/^grpc: received message larger than max \(\d+ vs\. 1024\)$/),
    })
    expect((await put({ key: Buffer.from("k"), value: Buffer.from("ok") })).header.revision).toBe("2")
  })

  it("refuses malformed protobuf with INTERNAL and goes on serving", async () => {
    const raw = new grpc.Client(address, grpc.credentials.createInsecure())
    const call = new Promise((resolve, reject) =>
      raw.makeUnaryRequest("/etcdserverpb.KV/Put", (x: Buffer) => x, (x: Buffer) => x, Buffer.from([0x0a, 0x7f, 0x01]), (e, r) => (e ? reject(e) : resolve(r))))
    await expect(call).rejects.toMatchObject({ code: Status.INTERNAL, details: expect.stringContaining("error unmarshalling request") })
    raw.close()
    expect((await put({ key: Buffer.from("k"), value: Buffer.from("abc") })).header.revision).toBe("3")
  })

  it("streams both ways and ends a stream with a status", async () => {
    const stream = watchClient.Watch()
    const ids: Array<string> = []
    const ended = new Promise<grpc.ServiceError>((resolve) => {
      stream.on("data", (response: any) => ids.push(response.watch_id))
      stream.on("error", resolve)
    })
    for (let i = 0; i < 3; i++) stream.write({ progress_request: {} })
    const error = await ended
    expect(ids).toEqual(["1", "2", "3"])
    expect(error).toMatchObject({ code: Status.OUT_OF_RANGE, details: "mvcc: required revision has been compacted" })
  })
})
