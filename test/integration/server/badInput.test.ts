// Bad input from clients: a request over --max-request-bytes, bytes that are not a protobuf
// message, unknown methods and services, an empty key, and watch clients that vanish mid-stream.
// Each gets a proper gRPC status (the same as etcd 3.4's where etcd can be asked the same), and
// the server goes on serving everyone else without logging an internal error.
import * as grpc from "@grpc/grpc-js"
import type { IKeyValue } from "etcd3"
import { etcd3Client } from "./Etcd3Client.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connectEtcd, type EtcdClient } from "../../support/EtcdClient.ts"
import { etcdSuiteSkipped, startEtcd, type EtcdProcess } from "../../support/EtcdProcess.ts"
import { startVerikv, type VerikvProcess } from "../../support/VerikvProcess.ts"
import { openRawStream, rawUnary, type RawOutcome } from "./RawGrpc.ts"

const maxRequestBytes = 1024
/** grpc-go lets etcd see requests up to this much over --max-request-bytes (etcd's grpcOverheadBytes). */
const grpcOverheadBytes = 512 * 1024

const { INVALID_ARGUMENT, INTERNAL, UNIMPLEMENTED, RESOURCE_EXHAUSTED } = grpc.status

/** Bytes that no protobuf decoder can read as a message. */
const malformed: ReadonlyArray<{ readonly what: string; readonly path: string; readonly bytes: Buffer }> = [
  // key (field 1, length-delimited) claims 5 bytes, 1 follows
  { what: "a truncated length-delimited field", path: "/etcdserverpb.KV/Put", bytes: Buffer.from([0x0a, 0x05, 0x61]) },
  // a tag whose varint never ends
  { what: "an unterminated varint tag", path: "/etcdserverpb.KV/Range", bytes: Buffer.from([0xff, 0xff]) },
  // field 1 with wire type 7, which does not exist
  { what: "an invalid wire type", path: "/etcdserverpb.KV/DeleteRange", bytes: Buffer.from([0x0f, 0x01]) },
  // field number 0 is reserved
  { what: "field number 0", path: "/etcdserverpb.Lease/LeaseGrant", bytes: Buffer.from([0x00, 0x01]) },
]

describe("bad input to verikv", () => {
  let verikv: VerikvProcess | undefined
  let client: EtcdClient | undefined

  const server = (): { readonly verikv: VerikvProcess; readonly client: EtcdClient } => {
    if (verikv === undefined || client === undefined) throw new Error("beforeAll did not start verikv")
    return { verikv, client }
  }

  beforeAll(async () => {
    verikv = await startVerikv({ flags: [`--max-request-bytes=${maxRequestBytes}`] })
    client = connectEtcd(verikv.clientEndpoint)
  })

  afterAll(async () => {
    client?.close()
    await verikv?.stop()
  })

  it("refuses a request over --max-request-bytes with etcd's error, and takes one under it", async () => {
    const { client } = server()
    const tooLarge = await client.call("KV", "Put", { key: Buffer.from("big"), value: Buffer.alloc(2 * maxRequestBytes, 0x61) })
    expect(tooLarge).toEqual({ ok: false, code: INVALID_ARGUMENT, message: "etcdserver: request is too large" })
    const txnTooLarge = await client.call("KV", "Txn", {
      success: [{ requestPut: { key: Buffer.from("big"), value: Buffer.alloc(2 * maxRequestBytes, 0x62) } }],
    })
    expect(txnTooLarge).toEqual({ ok: false, code: INVALID_ARGUMENT, message: "etcdserver: request is too large" })
    const fits = await client.call("KV", "Put", { key: Buffer.from("big"), value: Buffer.alloc(maxRequestBytes / 2, 0x61) })
    expect(fits.ok).toBe(true)
    const read = await client.call("KV", "Range", { key: Buffer.from("big") })
    expect(read).toMatchObject({ ok: true, response: { count: "1" } })
  })

  it("refuses a message over the gRPC limit as grpc-go does, before reading it", async () => {
    const { client } = server()
    const limit = maxRequestBytes + grpcOverheadBytes
    const huge = await client.call("KV", "Put", { key: Buffer.from("huge"), value: Buffer.alloc(limit + 100, 0x61) })
    expect(huge).toMatchObject({ ok: false, code: RESOURCE_EXHAUSTED })
    if (huge.ok) throw new Error("unreachable")
    expect(huge.message).toMatch(new RegExp(`^grpc: received message larger than max \\(\\d+ vs\\. ${limit}\\)$`))
  })

  for (const { what, path, bytes } of malformed) {
    it(`answers ${what} on ${path} with INTERNAL`, async () => {
      const { verikv, client } = server()
      const outcome = await rawUnary(verikv.clientEndpoint, path, bytes)
      expect(outcome).toMatchObject({ ok: false, code: INTERNAL })
      const after = await client.call("KV", "Put", { key: Buffer.from("after-malformed"), value: Buffer.from("ok") })
      expect(after.ok).toBe(true)
    })
  }

  it("answers an unknown method and an unknown service with UNIMPLEMENTED", async () => {
    const { verikv } = server()
    expect(await rawUnary(verikv.clientEndpoint, "/etcdserverpb.KV/Nope", Buffer.alloc(0))).toEqual({
      ok: false,
      code: UNIMPLEMENTED,
      message: "unknown method Nope for service etcdserverpb.KV",
    })
    expect(await rawUnary(verikv.clientEndpoint, "/nope.Service/Call", Buffer.alloc(0))).toEqual({
      ok: false,
      code: UNIMPLEMENTED,
      message: "unknown service nope.Service",
    })
  })

  it("refuses an empty key with etcd's error text", async () => {
    const { client } = server()
    const refused = { ok: false, code: INVALID_ARGUMENT, message: "etcdserver: key is not provided" }
    expect(await client.call("KV", "Put", { key: Buffer.alloc(0), value: Buffer.from("v") })).toEqual(refused)
    expect(await client.call("KV", "Range", { key: Buffer.alloc(0) })).toEqual(refused)
    expect(await client.call("KV", "DeleteRange", { key: Buffer.alloc(0) })).toEqual(refused)
  })

  it("goes on serving a watcher and writers after clients vanish mid-stream", async () => {
    const { verikv, client } = server()
    const survivor = etcd3Client(verikv.clientEndpoint)
    try {
      const watcher = await survivor.watch().prefix("v/").create()
      const seen: Array<IKeyValue> = []
      watcher.on("put", (kv) => seen.push(kv))
      // WatchRequest{create_request{key "v/"}} by hand, so no client library smooths anything over.
      const createWatch = Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0x76, 0x2f])
      for (let round = 0; round < 20; round++) {
        const doomed = openRawStream(verikv.clientEndpoint, "/etcdserverpb.Watch/Watch", [createWatch])
        await doomed.waitForBytes(5) // the "created" response's frame header at least
        // Half of them vanish with an event on its way to them.
        if (round % 2 === 1) await client.call("KV", "Put", { key: Buffer.from(`v/${round}`), value: Buffer.from("x") })
        doomed.vanish()
      }
      // A watch with a long history to replay, gone before reading any of it.
      const fromTheStart = Buffer.from([0x0a, 0x06, 0x0a, 0x02, 0x76, 0x2f, 0x18, 0x01]) // start_revision 1
      for (let round = 0; round < 5; round++) openRawStream(verikv.clientEndpoint, "/etcdserverpb.Watch/Watch", [fromTheStart]).vanish()
      // A lease keep-alive stream (LeaseKeepAliveRequest{ID 1}) and a Put cut off mid-message.
      const keepAlive = openRawStream(verikv.clientEndpoint, "/etcdserverpb.Lease/LeaseKeepAlive", [Buffer.from([0x08, 0x01])])
      await keepAlive.waitForBytes(5)
      keepAlive.vanish()
      const halfFrame = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x40, 0x0a, 0x03, 0x76])
      const cutOff = openRawStream(verikv.clientEndpoint, "/etcdserverpb.KV/Put", [], halfFrame)
      await new Promise((resolve) => setTimeout(resolve, 50)) // let the half frame leave before the socket goes
      cutOff.vanish()
      const put = await client.call("KV", "Put", { key: Buffer.from("v/last"), value: Buffer.from("y") })
      expect(put.ok).toBe(true)
      const deadline = Date.now() + 15_000
      while (!seen.some((kv) => kv.key.toString() === "v/last") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(seen.map((kv) => kv.key.toString())).toEqual([...Array.from({ length: 10 }, (_, i) => `v/${2 * i + 1}`), "v/last"])
      await watcher.cancel()
    } finally {
      survivor.close()
    }
    expect(verikv.running()).toBe(true)
    expect(verikv.log()).not.toMatch(/ E \| /)
  })
})

/**
 * --max-request-bytes on both servers, requests around it. etcd checks the size of the Raft entry
 * a write becomes (the request plus a header with its ID), and only for requests that go through
 * Raft: reads are never refused by it.
 */
describe.skipIf(etcdSuiteSkipped())("--max-request-bytes: verikv against etcd 3.4", () => {
  let etcd: EtcdClient | undefined
  let verikv: EtcdClient | undefined
  const processes: Array<{ stop: () => Promise<void> }> = []

  beforeAll(async () => {
    const [etcdProcess, verikvProcess] = await Promise.all([
      startEtcd({ maxRequestBytes }),
      startVerikv({ flags: [`--max-request-bytes=${maxRequestBytes}`] }),
    ])
    processes.push(etcdProcess, verikvProcess)
    etcd = connectEtcd(etcdProcess.clientEndpoint)
    verikv = connectEtcd(verikvProcess.clientEndpoint)
  })

  afterAll(async () => {
    etcd?.close()
    verikv?.close()
    await Promise.all(processes.map((p) => p.stop()))
  })

  const bytes = (length: number, fill: string) => Buffer.alloc(length, fill)
  const cases: ReadonlyArray<{ readonly what: string; readonly service: "KV" | "Lease"; readonly method: string; readonly request: object; readonly differs?: string }> = [
    { what: "a Put well under the limit", service: "KV", method: "Put", request: { key: bytes(1, "k"), value: bytes(900, "a") } },
    { what: "a Put well over it", service: "KV", method: "Put", request: { key: bytes(1, "k"), value: bytes(2048, "a") } },
    { what: "a DeleteRange over it", service: "KV", method: "DeleteRange", request: { key: bytes(2000, "d") } },
    { what: "a writing Txn over it", service: "KV", method: "Txn", request: { success: [{ requestPut: { key: bytes(2000, "t"), value: bytes(1, "v") } }] } },
    {
      what: "a Put whose request fits but whose Raft entry does not",
      service: "KV",
      method: "Put",
      request: { key: bytes(1, "k"), value: bytes(1010, "a") },
    },
    {
      what: "a Range over it",
      service: "KV",
      method: "Range",
      request: { key: bytes(2000, "r") },
    },
    {
      what: "a read-only Txn over it",
      service: "KV",
      method: "Txn",
      request: { success: [{ requestRange: { key: bytes(2000, "r") } }] },
    },
  ]

  for (const { what, service, method, request, differs } of cases) {
    it(`${what}${differs === undefined ? "" : ` [differs: ${differs}]`}`, async () => {
      if (etcd === undefined || verikv === undefined) throw new Error("beforeAll did not start both")
      const [fromEtcd, fromVerikv] = await Promise.all([etcd.call(service, method, request), verikv.call(service, method, request)])
      const outcome = (o: typeof fromEtcd) => (o.ok ? "ok" : { code: o.code, message: o.message })
      if (differs === undefined) expect(outcome(fromVerikv)).toEqual(outcome(fromEtcd))
      else expect(outcome(fromVerikv), `agrees now: drop "differs" (${differs})`).not.toEqual(outcome(fromEtcd))
    })
  }
})

/** etcd 3.4 asked the same questions, where its flags allow: the statuses must agree. */
describe.skipIf(etcdSuiteSkipped())("bad input: verikv's statuses against etcd 3.4's", () => {
  let etcd: EtcdProcess | undefined
  let verikv: VerikvProcess | undefined

  beforeAll(async () => {
    ;[etcd, verikv] = await Promise.all([startEtcd(), startVerikv()])
  })

  afterAll(async () => {
    await Promise.all([etcd?.stop(), verikv?.stop()])
  })

  const both = async (path: string, bytes: Buffer): Promise<{ readonly etcd: RawOutcome; readonly verikv: RawOutcome }> => {
    if (etcd === undefined || verikv === undefined) throw new Error("beforeAll did not start both")
    const [fromEtcd, fromVerikv] = await Promise.all([rawUnary(etcd.clientEndpoint, path, bytes), rawUnary(verikv.clientEndpoint, path, bytes)])
    return { etcd: fromEtcd, verikv: fromVerikv }
  }
  const code = (outcome: RawOutcome) => (outcome.ok ? 0 : outcome.code)

  for (const { what, path, bytes } of malformed) {
    it(`gives the same status code for ${what}`, async () => {
      const answers = await both(path, bytes)
      expect(code(answers.verikv)).toBe(code(answers.etcd))
    })
  }

  it("gives the same status and text for unknown methods and services and empty keys", async () => {
    // PutRequest{value "v"} (no key), RangeRequest{} and DeleteRangeRequest{}: all lack a key.
    const cases: ReadonlyArray<readonly [string, Buffer]> = [
      ["/etcdserverpb.KV/Nope", Buffer.alloc(0)],
      ["/nope.Service/Call", Buffer.alloc(0)],
      ["/etcdserverpb.KV/Put", Buffer.from([0x12, 0x01, 0x76])],
      ["/etcdserverpb.KV/Range", Buffer.alloc(0)],
      ["/etcdserverpb.KV/DeleteRange", Buffer.alloc(0)],
    ]
    for (const [path, bytes] of cases) {
      const answers = await both(path, bytes)
      expect(answers.verikv, path).toEqual(answers.etcd)
    }
  })
})
