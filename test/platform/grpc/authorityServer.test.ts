// node:http2 servers with the :authority repair in front: raw HTTP/2 and grpc-js clients that
// send `:authority: http://127.0.0.1:PORT` are served (without the repair nghttp2 resets them),
// other clients see no change, TLS clients (ALPN h2 on the real TLS socket) are served the same
// way, and a connection with malformed
// HPACK is closed and logged while the server goes on serving.
import * as grpc from "@grpc/grpc-js"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http2 from "node:http2"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { setTimeout as delay } from "node:timers/promises"
import { afterAll, describe, expect, it } from "vitest"
import { repairAuthorityOn } from "../../../src/platform/grpc/AuthorityRepair.ts"
import { CONNECTION_PREFACE } from "../../../src/platform/grpc/h2/Frame.ts"
import { grpcStreamListener, type Method } from "../../../src/platform/grpc/Server.ts"

const host = "127.0.0.1"
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-authority-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

interface Seen {
  readonly authority: unknown
  /** Whether node:http2 owns the socket itself (the fast path), not a RepairingSocket. */
  readonly direct: boolean
}

/** A server answering each request with the :authority it saw and the path it came by. */
async function startServer(server: http2.Http2Server | http2.Http2SecureServer, repair: boolean) {
  const log: Array<string> = []
  if (repair) repairAuthorityOn(server, (message) => log.push(message))
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {})
    const seen: Seen = { authority: headers[":authority"], direct: typeof stream.session?.socket.remoteAddress === "string" }
    stream.respond({ ":status": 200 })
    stream.end(JSON.stringify(seen))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const port = (server.address() as net.AddressInfo).port
  return { port, log, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

type Answer = { readonly status: "served"; readonly seen: Seen } | { readonly status: "reset"; readonly code: number }

function request(session: http2.ClientHttp2Session, authority: string): Promise<Answer> {
  return new Promise((resolve) => {
    const stream = session.request({ ":path": "/", ":method": "POST", ":authority": authority, "x-pad": "p".repeat(100) })
    let body = ""
    stream.setEncoding("utf8").on("data", (text: string) => (body += text))
    stream.on("error", () => {})
    stream.on("close", () => resolve(stream.rstCode === 0 ? { status: "served", seen: JSON.parse(body) as Seen } : { status: "reset", code: stream.rstCode ?? -1 }))
    stream.end("body")
  })
}

describe("raw HTTP/2 clients", () => {
  it("without the repair, a URL :authority is reset with PROTOCOL_ERROR (the problem)", async () => {
    const server = await startServer(http2.createServer(), false)
    const session = http2.connect(`http://${host}:${server.port}`)
    expect(await request(session, `http://${host}:${server.port}`)).toEqual({ status: "reset", code: http2.constants.NGHTTP2_PROTOCOL_ERROR })
    session.close()
    await server.close()
  })

  it("with the repair, every request on the session is served with the URL's authority", async () => {
    const server = await startServer(http2.createServer(), true)
    const session = http2.connect(`http://${host}:${server.port}`)
    const authority = `http://${host}:${server.port}`
    // The client's encoder indexes :authority, so later requests refer to its dynamic table.
    for (let k = 0; k < 5; k++) {
      expect(await request(session, k % 2 === 0 ? authority : `${authority}/path`)).toEqual({
        status: "served", seen: { authority: `${host}:${server.port}`, direct: false },
      })
    }
    const plain = http2.connect(`http://${host}:${server.port}`)
    expect(await request(plain, `localhost:${server.port}`)).toEqual({ status: "served", seen: { authority: `localhost:${server.port}`, direct: true } })
    session.close()
    plain.close()
    await server.close()
    expect(server.log).toEqual([])
  })

  it("streams large bodies both ways through a repaired connection, flow control and all", async () => {
    const server = http2.createServer()
    repairAuthorityOn(server, () => {})
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200 })
      stream.pipe(stream) // echo, at the pace the client reads
    })
    await new Promise<void>((resolve) => server.listen(0, host, resolve))
    const port = (server.address() as net.AddressInfo).port
    const session = http2.connect(`http://${host}:${port}`)
    const body = Buffer.alloc(3 << 20)
    for (let k = 0; k < body.length; k += 4) body.writeUInt32LE(k, k)
    const echoes = [0, 1].map(() => new Promise<Buffer>((resolve, reject) => {
      const stream = session.request({ ":path": "/", ":method": "POST", ":authority": `http://${host}:${port}` })
      const parts: Array<Buffer> = []
      stream.on("data", (part: Buffer) => parts.push(part))
      stream.on("end", () => resolve(Buffer.concat(parts)))
      stream.on("error", reject)
      stream.end(body)
    }))
    for (const echo of await Promise.all(echoes)) expect(echo.equals(body)).toBe(true)
    session.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it("a client silent past the triage wait is served through the repair, valid authority or not", async () => {
    const server = await startServer(http2.createServer(), true)
    for (const authority of [`${host}:${server.port}`, `http://${host}:${server.port}`]) {
      const session = http2.connect(`http://${host}:${server.port}`)
      await new Promise((resolve) => session.once("remoteSettings", resolve))
      await delay(1200) // past TRIAGE_WAIT_MS; timers in this one process fire in order
      expect(await request(session, authority)).toEqual({ status: "served", seen: { authority: `${host}:${server.port}`, direct: false } })
      session.close()
    }
    await server.close()
  })

  it("waits for the ACK of its own SETTINGS, and keeps it from node:http2", async () => {
    const server = await startServer(http2.createServer(), true)
    const socket = net.connect(server.port, host)
    socket.on("error", () => {})
    const frames: Array<{ type: number; flags: number; stream: number }> = []
    let pending = Buffer.alloc(0)
    let arrived: () => void = () => {}
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        frames.push({ type: pending[3]!, flags: pending[4]!, stream: pending.readUInt32BE(5) })
        pending = pending.subarray(9 + pending.readUIntBE(0, 3))
        arrived()
      }
    })
    const frameCount = async (count: number) => {
      while (frames.length < count) await new Promise<void>((resolve) => (arrived = resolve))
    }
    const settingsAck = Buffer.from("000000040100000000", "hex")
    // GET / on stream 1, :authority "127.0.0.1:1" as a literal without indexing, before any ACK.
    const block = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, 11]), Buffer.from("127.0.0.1:1")])
    const headers = Buffer.concat([Buffer.from([0, 0, block.length, 0x1, 0x5, 0, 0, 0, 1]), block])
    socket.write(Buffer.concat([CONNECTION_PREFACE, Buffer.from("000000040000000000", "hex"), headers]))
    await frameCount(1)
    expect(frames[0]).toEqual({ type: 0x4, flags: 0, stream: 0 }) // the repair's SETTINGS
    socket.write(settingsAck)
    // node:http2's own SETTINGS, its ACK of ours, the response: all before any GOAWAY.
    while (!frames.some((f) => f.type === 0x1 && f.stream === 1) && !frames.some((f) => f.type === 0x7)) await frameCount(frames.length + 1)
    expect(frames.filter((f) => f.type === 0x7)).toEqual([])
    expect(frames.filter((f) => f.type === 0x4 && f.flags === 0)).toHaveLength(2)
    socket.destroy()
    await server.close()
  })

  it("closes a connection with malformed HPACK, logs it, and serves the next client", async () => {
    const server = await startServer(http2.createServer(), true)
    const socket = net.connect(server.port, host)
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()))
    socket.on("error", () => {})
    // SETTINGS (empty), then HEADERS whose block is "indexed field 0", which HPACK forbids.
    socket.write(Buffer.concat([CONNECTION_PREFACE, Buffer.from("000000040000000000", "hex"), Buffer.from("000001010500000001", "hex"), Buffer.from([0x80])]))
    socket.resume()
    await closed
    expect(server.log).toEqual([expect.stringMatching(/^closing client connection from 127\.0\.0\.1:\d+: header field index 0$/)])
    const session = http2.connect(`http://${host}:${server.port}`)
    expect(await request(session, `http://${host}:${server.port}`)).toMatchObject({ status: "served" })
    session.close()
    await server.close()
  })
})

describe("TLS", () => {
  // node:http2 runs the session over a JS stream here, so session.encrypted reads false and
  // alpnProtocol "h2c" on the server side; nothing in verikv reads them.
  it("repairs inside the TLS session (negotiated with ALPN h2)", async () => {
    const key = path.join(dir, "server.key")
    const cert = path.join(dir, "server.crt")
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" })
    const server = await startServer(http2.createSecureServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }), true)
    const session = http2.connect(`https://${host}:${server.port}`, { ca: fs.readFileSync(cert) })
    for (let k = 0; k < 3; k++) {
      expect(await request(session, `https://${host}:${server.port}`)).toEqual({
        status: "served", seen: { authority: `${host}:${server.port}`, direct: false },
      })
    }
    const plain = http2.connect(`https://${host}:${server.port}`, { ca: fs.readFileSync(cert) })
    expect(await request(plain, `${host}:${server.port}`)).toEqual({ status: "served", seen: { authority: `${host}:${server.port}`, direct: true } })
    plain.close()
    session.close()
    await server.close()
  })
})

describe("grpc-js", () => {
  const echo: Method = { kind: "unary", handle: (request, call) => Buffer.concat([request, Buffer.from(` via ${String(call.headers[":authority"])}`)]) }

  it("a channel whose authority is a URL is served, call after call", async () => {
    const server = http2.createServer()
    repairAuthorityOn(server, () => {})
    server.on("stream", grpcStreamListener({ methods: new Map([["/test.Echo/Echo", echo]]), maxReceiveMessageBytes: 1024 }))
    await new Promise<void>((resolve) => server.listen(0, host, resolve))
    const port = (server.address() as net.AddressInfo).port
    const client = new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure(), { "grpc.default_authority": `http://${host}:${port}` })
    const call = (text: string) => new Promise<string>((resolve, reject) => {
      client.makeUnaryRequest("/test.Echo/Echo", (b: Buffer) => b, (b: Buffer) => b.toString(), Buffer.from(text),
        (error, answer) => (error ? reject(error) : resolve(answer ?? "")))
    })
    for (const text of ["a", "b", "c"]) expect(await call(text)).toBe(`${text} via ${host}:${port}`)
    client.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
})
