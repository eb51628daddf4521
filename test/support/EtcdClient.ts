// A minimal gRPC client for etcd's v3 API, built from verikv's own proto/ definitions. Messages
// are plain objects as @grpc/proto-loader shapes them: camelCase field names, int64 as decimal
// strings (no precision loss for lease IDs), bytes as Buffers, enums as numbers, every scalar
// present, and for each oneof a virtual property naming the member that is set.
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import path from "node:path"
import { fileURLToPath } from "node:url"

export const protoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../proto")

export const wireLoaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [protoRoot],
}

/** A protobuf message as proto-loader decodes it. */
export type WireMessage = { readonly [field: string]: unknown }

export type EtcdService = "KV" | "Lease" | "Maintenance" | "Cluster"

/** What a unary call ended with: the response, or the gRPC status etcd sent. */
export type CallOutcome =
  | { readonly ok: true; readonly response: WireMessage }
  | { readonly ok: false; readonly code: number; readonly message: string }

export interface EtcdClient {
  readonly call: (service: EtcdService, method: string, request: object) => Promise<CallOutcome>
  readonly close: () => void
}

const callDeadlineMsDefault = 15_000

export interface ConnectOptions {
  /** Each call's gRPC deadline (fault tests use short ones: an unanswered call is an unknown outcome). */
  readonly callDeadlineMs?: number
  /** Caps grpc-js's reconnect backoff (120 s by default), so a restarted member is found again soon. */
  readonly reconnectBackoffMaxMs?: number
}

let packageDefinition: protoLoader.PackageDefinition | undefined

export function loadDefinition(): protoLoader.PackageDefinition {
  packageDefinition ??= protoLoader.loadSync("etcdserverpb/rpc.proto", wireLoaderOptions)
  return packageDefinition
}

/** Channel options for loopback test clients. */
export function testChannelOptions(options: ConnectOptions = {}): grpc.ChannelOptions {
  return {
    // Tests talk to loopback only; never route through a proxy from the environment.
    "grpc.enable_http_proxy": 0,
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    ...(options.reconnectBackoffMaxMs === undefined ? {} : {
      "grpc.initial_reconnect_backoff_ms": Math.min(100, options.reconnectBackoffMaxMs),
      "grpc.max_reconnect_backoff_ms": options.reconnectBackoffMaxMs,
    }),
  }
}

export function connectEtcd(endpoint: string, options: ConnectOptions = {}): EtcdClient {
  const callDeadlineMs = options.callDeadlineMs ?? callDeadlineMsDefault
  const grpcObject = grpc.loadPackageDefinition(loadDefinition())
  const etcdserverpb = grpcObject.etcdserverpb as grpc.GrpcObject
  const channelOptions = testChannelOptions(options)
  const services: EtcdService[] = ["KV", "Lease", "Maintenance", "Cluster"]
  const clients = new Map<EtcdService, InstanceType<grpc.ServiceClientConstructor>>()
  for (const service of services) {
    const constructor = etcdserverpb[service] as grpc.ServiceClientConstructor
    clients.set(service, new constructor(endpoint, grpc.credentials.createInsecure(), channelOptions))
  }
  const call = (service: EtcdService, method: string, request: object) =>
    new Promise<CallOutcome>((resolve, reject) => {
      const client = clients.get(service)
      const rpc = client?.[method] as
        | ((req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: WireMessage) => void) => void)
        | undefined
      if (client === undefined || rpc === undefined) {
        reject(new Error(`no method ${service}.${method} in proto/etcdserverpb/rpc.proto`))
        return
      }
      rpc.call(client, request, { deadline: Date.now() + callDeadlineMs }, (error, response) => {
        if (error === null && response !== undefined) resolve({ ok: true, response })
        else if (error !== null) resolve({ ok: false, code: error.code, message: error.details })
        else reject(new Error(`${service}.${method} returned neither a response nor an error`))
      })
    })
  const close = () => {
    for (const client of clients.values()) client.close()
  }
  return { call, close }
}
