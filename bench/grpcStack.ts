// Which gRPC server stack verikv runs on, measured side by side in one run: each candidate serves
// unary /etcdserverpb.KV/Put into a Map (no disk, no Raft) in its own Node process, and the put
// rows of the side-by-side bench (bench/load/Rows.ts, the same lean HTTP/2 load generator) drive
// it at 1, 64 and 256 clients. Server CPU is read from /proc/<pid>/stat around the window.
//
//   verikv h2      the hand-written HTTP/2 server connection (src/platform/grpc/Server.ts)
//   node:http2     a minimal gRPC layer on node:http2 streams, as verikv had before
//   @grpc/grpc-js  grpc-js 1.14 with proto-loader (protobufjs codec) loading etcd's rpc.proto
//
// The first two decode and encode with verikv's hand codecs (src/platform/grpc/codec/KvCodec.ts).
// Every run starts a fresh server process; stacks take turns (the order flips every rep) so all
// see similar machine load. A call counts only if a gRPC message arrived before END_STREAM.
//
// Run: npm run bench:grpc [-- --seconds 4] [-- --warmup 1] [-- --reps 2] [-- --clients 1,64,256]
// (internally: node bench/grpcStack.ts --serve <stack id> runs one server and prints its port)
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as http2 from "node:http2"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "../src/assert.ts"
import { readPutRequest, writePutResponse } from "../src/platform/grpc/codec/KvCodec.ts"
import { GrpcConnections, type Method } from "../src/platform/grpc/Server.ts"
import { ProtoReader, ProtoWriter } from "../src/platform/grpc/Wire.ts"
import { benchOptions, formatRun, loadAverage } from "./load/Cli.ts"
import { Http2Connection, RequestTemplate, grpcRequestHeaderBlock } from "./load/Http2Connection.ts"
import { Method as RpcPath, putRequest, valueWith } from "./load/Messages.ts"
import { median } from "./load/Report.ts"
import { rows } from "./load/Rows.ts"
import { callOnce, type Measurement, type Timing } from "./load/Workloads.ts"

const STACKS = [
  { id: "verikv-h2", label: "verikv h2" },
  { id: "node-http2", label: "node:http2" },
  { id: "grpc-js", label: "@grpc/grpc-js" },
] as const
type Stack = (typeof STACKS)[number]
type StackId = Stack["id"]

const HOST = "127.0.0.1"
const PUT_PATH = RpcPath.put
const benchDir = path.dirname(fileURLToPath(import.meta.url))
const protoDir = path.resolve(benchDir, "../proto")
/** The response header every stack sends (revision counts the puts). */
const HEADER = { clusterId: 14841639068965178418n, memberId: 10276657743932975437n, raftTerm: 2 }
const MAX_RECEIVE_MESSAGE_BYTES = 2 * 1024 * 1024

// ---- The servers (run in the child process) ----

/** The Map behind every stack; keys as latin1 strings, values copied out of the request. */
class PutStore {
  readonly values = new Map<string, Uint8Array>()
  revision = 0

  put(key: Uint8Array, value: Uint8Array): number {
    this.values.set(Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1"), new Uint8Array(value))
    return ++this.revision
  }

  /** A Put with verikv's hand codecs: request bytes in, PutResponse bytes out. */
  handle(request: Uint8Array): Uint8Array {
    const put = readPutRequest(new ProtoReader(request))
    const revision = this.put(put.key, put.value)
    const w = new ProtoWriter()
    writePutResponse(w, { ...HEADER, revision }, { header: { revision }, prevKv: undefined })
    return w.finish()
  }
}

function serveVerikvH2(store: PutStore): Promise<number> {
  const methods = new Map<string, Method>([[PUT_PATH, { kind: "unary", handle: (request) => store.handle(request) }]])
  const server = net.createServer(new GrpcConnections({ methods, maxReceiveMessageBytes: MAX_RECEIVE_MESSAGE_BYTES }).accept)
  return listen(server)
}

// The node:http2 layer verikv had before (git show 92b36c4^:src/platform/grpc/Server.ts), cut
// down to unary Put: raw response headers (node:http2 copies a headers object, reads an array as
// is), no date header, OK status in trailers.
const RAW_RESPONSE_HEADERS: ReadonlyArray<string> = Object.freeze([":status", "200", "content-type", "application/grpc"])
const OK_TRAILERS = { "grpc-status": "0" }
// respond() honours `sendDate` (lib/internal/http2/core.js) though @types/node leaves it out.
const MESSAGE_OPTIONS = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS)
}
function ignoreStreamError(): void {}

function grpcFramed(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  out.set(message, 5)
  return out
}

function respondError(stream: http2.ServerHttp2Stream, status: number): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": String(status) }, { endStream: true })
}

function serveNodeHttp2(store: PutStore): Promise<number> {
  // maxSessionMemory as verikv set it: the default (10 MB) refuses streams at 256 clients.
  const server = http2.createServer({ maxSessionMemory: 64 })
  server.on("stream", (stream, headers) => {
    stream.on("error", ignoreStreamError)
    if (headers[":path"] !== PUT_PATH) {
      stream.resume()
      return respondError(stream, 12) // UNIMPLEMENTED
    }
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("end", () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) return respondError(stream, 13) // INTERNAL
      const answer = store.handle(body.subarray(5))
      if (stream.destroyed || stream.closed) return
      stream.on("wantTrailers", sendOkTrailers)
      stream.respond(RAW_RESPONSE_HEADERS as Array<string>, MESSAGE_OPTIONS)
      stream.end(grpcFramed(answer))
    })
  })
  return listen(server)
}

interface PutCall {
  readonly request: { readonly key: Buffer; readonly value: Buffer }
}
type PutCallback = (error: grpc.ServiceError | null, response?: object) => void

function serveGrpcJs(store: PutStore): Promise<number> {
  const definition = protoLoader.loadSync("etcdserverpb/rpc.proto", {
    includeDirs: [protoDir], keepCase: true, longs: String, defaults: true,
  })
  const api = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: { KV: { service: grpc.ServiceDefinition } } }
  const server = new grpc.Server()
  const header = { cluster_id: HEADER.clusterId.toString(), member_id: HEADER.memberId.toString(), raft_term: HEADER.raftTerm }
  server.addService(api.etcdserverpb.KV.service, {
    Put: (call: PutCall, callback: PutCallback) => {
      const revision = store.put(call.request.key, call.request.value)
      callback(null, { header: { ...header, revision } })
    },
  })
  return new Promise((resolve, reject) =>
    server.bindAsync(`${HOST}:0`, grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))))
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, HOST, () => resolve((server.address() as net.AddressInfo).port))
  })
}

async function serve(id: StackId): Promise<void> {
  // The parent holds our stdin: when it goes away, so do we.
  process.stdin.on("close", () => process.exit(0))
  process.stdin.resume()
  const store = new PutStore()
  const servers: Record<StackId, (store: PutStore) => Promise<number>> = {
    "verikv-h2": serveVerikvH2,
    "node-http2": serveNodeHttp2,
    "grpc-js": serveGrpcJs,
  }
  const port = await servers[id](store)
  process.stdout.write(`port ${port}\n`)
}

// ---- The driver ----

const READY_TIMEOUT_MS = 20_000
const EXIT_TIMEOUT_MS = 5_000
/** Every child still running, by pid, so that any way out kills them. */
const children = new Map<number, ChildProcess>()

function killChildren(): void {
  for (const pid of children.keys()) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  children.clear()
}

interface StackServer {
  readonly pid: number
  readonly host: string
  readonly port: number
  readonly stop: () => Promise<void>
}

async function startStack(stack: Stack): Promise<StackServer> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--serve", stack.id], { stdio: ["pipe", "pipe", "inherit"] })
  const pid = child.pid
  assert(pid !== undefined, `the ${stack.label} server was spawned`)
  children.set(pid, child)
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const stop = async () => {
    if (!children.delete(pid)) return
    process.kill(pid, "SIGKILL")
    await Promise.race([exited, delay(EXIT_TIMEOUT_MS)])
  }
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let output = ""
      const timer = setTimeout(() => reject(new Error(`${stack.label} printed no port within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS)
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString("latin1")
        const match = /^port (\d+)$/m.exec(output)
        if (match !== null) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      })
      void exited.then(() => reject(new Error(`${stack.label} exited before printing its port`)))
    })
    return { pid, host: HOST, port, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The revision in a PutResponse's header (field 1, revision field 3), or -1. */
function putResponseRevision(bytes: Buffer): number {
  const reader = new ProtoReader(bytes)
  let revision = -1
  while (!reader.done) {
    const tag = reader.tag()
    if (tag >>> 3 !== 1) {
      reader.skip(tag & 7)
      continue
    }
    const header = reader.nested()
    while (!header.done) {
      const field = header.tag()
      if (field >>> 3 === 3) revision = header.int64()
      else header.skip(field & 7)
    }
  }
  return revision
}

/** Two puts before the load: both answered with a PutResponse whose revision counts them. */
async function probe(server: StackServer, stack: Stack): Promise<void> {
  const connection = await Http2Connection.connect(server.host, server.port)
  try {
    const template = new RequestTemplate(grpcRequestHeaderBlock(PUT_PATH, `${server.host}:${server.port}`), putRequest("probe000", valueWith("probe")), true)
    for (const expected of [1, 2]) {
      const revision = putResponseRevision(await callOnce(connection, template))
      assert(revision === expected, `${stack.label} answers put ${expected} with revision ${expected} (got ${revision})`)
    }
  } finally {
    connection.close()
  }
}

interface Cell {
  readonly stack: Stack
  readonly clients: number
  readonly runs: Array<Measurement>
}

const integer = (n: number) => Math.round(n).toLocaleString("en")

function tableOf(cells: ReadonlyArray<Cell>): string {
  const lines = [
    "| stack | clients | calls/s (median, range) | p50 / p99 ms | server CPU us/call | server cores | failed calls |",
    "|---|---|---|---|---|---|---|",
  ]
  for (const cell of cells) {
    const pick = (f: (m: Measurement) => number) => median(cell.runs.map(f))
    const rates = cell.runs.map((m) => m.opsPerSecond)
    const range = rates.length > 1 ? ` (${integer(Math.min(...rates))}-${integer(Math.max(...rates))})` : ""
    const failures = cell.runs.reduce((sum, m) => sum + m.failures, 0)
    lines.push(`| ${cell.stack.label} | ${cell.clients} | ${integer(pick((m) => m.opsPerSecond))}${range} | ` +
      `${pick((m) => m.p50Ms).toFixed(2)} / ${pick((m) => m.p99Ms).toFixed(2)} | ${pick((m) => m.serverCpuUsPerOp).toFixed(1)} | ` +
      `${pick((m) => m.serverCores).toFixed(2)} | ${failures} |`)
  }
  return lines.join("\n")
}

function commit(): string {
  try {
    const git = (...args: Array<string>) => execFileSync("git", ["-C", benchDir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    return `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain") !== "" ? " with uncommitted changes" : ""}`
  } catch {
    return "unknown commit"
  }
}

async function drive(args: ReadonlyArray<string>): Promise<number> {
  const { option } = benchOptions(args)
  const timing: Timing = { warmupMs: Number(option("warmup") ?? 1) * 1000, measureMs: Number(option("seconds") ?? 4) * 1000 }
  const reps = Number(option("reps") ?? 2)
  const clientCounts = (option("clients") ?? "1,64,256").split(",").map(Number)
  assert(timing.warmupMs >= 0 && timing.measureMs > 0 && reps >= 1, "--warmup >= 0, --seconds > 0, --reps >= 1")
  const putRows = clientCounts.map((clients) => {
    const row = rows.find((r) => r.id === `put${clients}`)
    assert(row !== undefined, `a put row for ${clients} clients in bench/load/Rows.ts (put1, put64, put256)`)
    return { clients, row }
  })
  // Bounded: every run gets its window plus a generous margin for start, probe, drain and stop.
  const budgetMs = putRows.length * reps * STACKS.length * (timing.warmupMs + timing.measureMs + 30_000)
  setTimeout(() => {
    console.error(`grpcStack: over its ${Math.round(budgetMs / 1000)} s budget; killing the servers`)
    killChildren()
    process.exit(2)
  }, budgetMs).unref()

  const loadAtStart = loadAverage()
  const started = new Date()
  console.log(`gRPC stacks, unary Put into a Map: ${timing.measureMs / 1000} s per run after ${timing.warmupMs / 1000} s warm-up, ` +
    `${reps} runs per cell; load average ${loadAtStart}`)
  const cells: Array<Cell> = []
  for (const { clients, row } of putRows) {
    const byStack = new Map(STACKS.map((stack) => [stack.id, { stack, clients, runs: [] as Array<Measurement> }]))
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? STACKS : [...STACKS].reverse()
      for (const stack of order) {
        const server = await startStack(stack)
        try {
          await probe(server, stack)
          const measurement = await row.run(server, timing)
          assert(measurement.opsPerSecond > 0, `${stack.label} completed calls at ${clients} clients`)
          byStack.get(stack.id)!.runs.push(measurement)
          console.log(`  ${stack.label.padEnd(14)} ${String(clients).padStart(3)} clients #${rep + 1} ${formatRun(measurement, "server")}`)
        } finally {
          await server.stop()
        }
      }
    }
    cells.push(...byStack.values())
  }
  const minutes = (Date.now() - started.getTime()) / 60_000
  console.log(`\n${started.toISOString().slice(0, 16).replace("T", " ")} UTC, verikv ${commit()}, ${os.availableParallelism()} cores, ` +
    `Node ${process.version}, ${timing.measureMs / 1000} s per run after ${timing.warmupMs / 1000} s warm-up, ${reps} runs per cell ` +
    `(stack order flips per run); load average ${loadAtStart} at start, ${loadAverage()} at end; ${minutes.toFixed(1)} min\n`)
  console.log(tableOf(cells))
  const failures = cells.reduce((sum, cell) => sum + cell.runs.reduce((s, m) => s + m.failures, 0), 0)
  if (failures > 0) console.error(`grpcStack: ${failures} calls failed`)
  return failures > 0 ? 1 : 0
}

const argv = process.argv.slice(2)
const serveAt = argv.indexOf("--serve")
if (serveAt >= 0) {
  const id = argv[serveAt + 1]
  const stack = STACKS.find((s) => s.id === id)
  assert(stack !== undefined, `--serve takes one of ${STACKS.map((s) => s.id).join(", ")} (got ${id})`)
  await serve(stack.id)
} else {
  process.once("exit", killChildren)
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killChildren()
      process.exit(130)
    })
  }
  let code = 1
  try {
    code = await drive(argv)
  } finally {
    killChildren()
  }
  process.exit(code)
}
