// Streams whose client half-closes (stops sending, keeps reading), against verikv and etcd 3.4:
// a Watch keeps delivering events until the client cancels; a LeaseKeepAlive answers what it was
// sent, then ends with status OK. Both servers must behave the same.
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connectEtcd, loadDefinition, testChannelOptions, type EtcdClient, type WireMessage } from "../../support/EtcdClient.ts"
import { etcdSuiteSkipped, startEtcd } from "../../support/EtcdProcess.ts"
import { startVerikv } from "../../support/VerikvProcess.ts"

const waitMs = 5_000

type ServiceClient = InstanceType<grpc.ServiceClientConstructor>

interface Server {
  readonly name: string
  readonly kv: EtcdClient
  readonly watch: ServiceClient
  readonly lease: ServiceClient
}

function serviceClient(endpoint: string, service: "Watch" | "Lease"): ServiceClient {
  const etcdserverpb = grpc.loadPackageDefinition(loadDefinition()).etcdserverpb as grpc.GrpcObject
  const constructor = etcdserverpb[service] as grpc.ServiceClientConstructor
  return new constructor(endpoint, grpc.credentials.createInsecure(), testChannelOptions())
}

/** Resolves with the first message `accept` takes, or rejects after waitMs. */
function nextMatching(stream: grpc.ClientDuplexStream<object, WireMessage>, accept: (m: WireMessage) => boolean): Promise<WireMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching message within ${waitMs} ms`)), waitMs)
    const onData = (message: WireMessage) => {
      if (!accept(message)) return
      clearTimeout(timer)
      stream.off("data", onData)
      resolve(message)
    }
    stream.on("data", onData)
  })
}

/** What a half-closed Watch delivers: the created answer, then the put made after the half-close. */
async function watchAfterHalfClose(server: Server): Promise<ReadonlyArray<string>> {
  const key = Buffer.from(`half-close-${server.name}`)
  const call = (server.watch as unknown as { Watch: () => grpc.ClientDuplexStream<object, WireMessage> }).Watch()
  call.on("error", () => {}) // the cancel at the end surfaces as CANCELLED
  const seen: Array<string> = []
  const created = nextMatching(call, (m) => m["created"] === true)
  call.write({ createRequest: { key } })
  await created
  seen.push("created")
  call.end() // half-close: no more requests, but the client keeps reading
  const event = nextMatching(call, (m) => Array.isArray(m["events"]) && m["events"].length > 0)
  const put = await server.kv.call("KV", "Put", { key, value: Buffer.from("after half-close") })
  expect(put.ok).toBe(true)
  const events = (await event)["events"] as ReadonlyArray<{ kv: { value: Buffer } }>
  seen.push(`event ${events[0]!.kv.value.toString()}`)
  call.cancel()
  return seen
}

/** What a half-closed LeaseKeepAlive gives: its answers, then how the stream ended. */
async function keepAliveAfterHalfClose(server: Server): Promise<ReadonlyArray<string>> {
  const grant = await server.kv.call("Lease", "LeaseGrant", { TTL: 60 })
  if (!grant.ok) throw new Error(`LeaseGrant failed: ${grant.message}`)
  const id = grant.response["ID"] as string
  const call = (server.lease as unknown as { LeaseKeepAlive: () => grpc.ClientDuplexStream<object, WireMessage> }).LeaseKeepAlive()
  const seen: Array<string> = []
  const ended = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the keep-alive stream did not end within ${waitMs} ms`)), waitMs)
    call.on("data", (m: WireMessage) => seen.push(`answer id=${m["ID"] === id} ttl=${m["TTL"]}`))
    call.on("status", (status: grpc.StatusObject) => {
      clearTimeout(timer)
      seen.push(`status ${status.code}`)
      resolve()
    })
    call.on("error", () => {}) // the status event reports it
  })
  call.write({ ID: id })
  call.write({ ID: id })
  call.end() // half-close right after the requests, as python-etcd3's refresh does
  await ended
  return seen
}

describe.skipIf(etcdSuiteSkipped())("half-closed streams: verikv against etcd 3.4", () => {
  const servers: Array<Server> = []
  const stops: Array<() => Promise<void>> = []

  beforeAll(async () => {
    const [etcd, verikv] = await Promise.all([startEtcd(), startVerikv()])
    stops.push(etcd.stop, verikv.stop)
    for (const [name, endpoint] of [["etcd", etcd.clientEndpoint], ["verikv", verikv.clientEndpoint]] as const) {
      servers.push({ name, kv: connectEtcd(endpoint), watch: serviceClient(endpoint, "Watch"), lease: serviceClient(endpoint, "Lease") })
    }
  }, 60_000)

  afterAll(async () => {
    for (const server of servers) {
      server.kv.close()
      server.watch.close()
      server.lease.close()
    }
    await Promise.all(stops.map((stop) => stop()))
  })

  it("a Watch goes on delivering events after the client half-closes it", async () => {
    const [etcd, verikv] = [await watchAfterHalfClose(servers[0]!), await watchAfterHalfClose(servers[1]!)]
    expect(etcd).toEqual(["created", "event after half-close"])
    expect(verikv).toEqual(etcd)
  }, 30_000)

  it("a LeaseKeepAlive answers each request, then ends with OK", async () => {
    const [etcd, verikv] = [await keepAliveAfterHalfClose(servers[0]!), await keepAliveAfterHalfClose(servers[1]!)]
    expect(etcd).toEqual(["answer id=true ttl=60", "answer id=true ttl=60", "status 0"])
    expect(verikv).toEqual(etcd)
  }, 30_000)
})
