// The workloads of the side-by-side benchmark, the same bytes for etcd and verikv: closed-loop
// unary calls (each client has one call in flight and sends the next when it completes), a watch
// fan-out, and a bulk load for the memory row. Each measures a bounded window after a warm-up and
// reads the server's CPU time from /proc around that window.
import { assert } from "../../src/assert.ts"
import { Http2Connection, RequestTemplate, grpcRequestHeaderBlock, type StreamHandler } from "./Http2Connection.ts"
import {
  COUNTER_DIGITS, KEY_DIGITS, Method, RangeResponseField, TxnResponseField, WatchResponseField, casRequest,
  countLenField, keyAt, markerOffset, putRequest, rangeRequest, valueWith, varintField, watchCreateRequest,
  writeDigits,
} from "./Messages.ts"
import { cpuSeconds, machineJiffies, residentBytes, type LoadTarget } from "./Servers.ts"

export interface Timing {
  readonly warmupMs: number
  readonly measureMs: number
}

export interface Measurement {
  readonly opsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Server CPU seconds per second of the window (1.0 = one core busy). */
  readonly serverCores: number
  /** Server CPU microseconds per operation (per delivered event for the watch row). */
  readonly serverCpuUsPerOp: number
  /** The load generator's own CPU, in cores. */
  readonly generatorCores: number
  /** Everything else on the machine (other helpers' jobs), in cores. */
  readonly otherCores: number
  readonly failures: number
  /** Row-specific notes (e.g. the writer's rate in the watch row). */
  readonly note: string
}

const LATENCY_SAMPLES_MAX = 4_000_000
const DRAIN_TIMEOUT_MS = 10_000
const KEY_SPACE = 100_000

/** Counts completions and latencies, only inside the measured window. */
class Meter {
  phase: "warmup" | "measure" | "stopped" = "warmup"
  completed = 0
  failures = 0
  inFlight = 0
  private readonly latenciesMs = new Float64Array(LATENCY_SAMPLES_MAX)

  complete(startedMs: number, ok: boolean): void {
    if (this.phase !== "measure") return
    if (!ok) {
      this.failures++
      return
    }
    if (this.completed < LATENCY_SAMPLES_MAX) this.latenciesMs[this.completed] = performance.now() - startedMs
    this.completed++
  }

  percentiles(): { readonly p50Ms: number; readonly p99Ms: number } {
    const sorted = this.latenciesMs.subarray(0, Math.min(this.completed, LATENCY_SAMPLES_MAX)).sort()
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
    return { p50Ms: at(0.5), p99Ms: at(0.99) }
  }
}

/** One closed-loop client: a request template plus what varies per call and how answers are checked. */
interface CallPlan {
  readonly template: RequestTemplate
  /** Edits the call's copy of the request (a key number, a counter). */
  readonly patch?: (frame: Buffer, messageOffset: number) => void
  /** Whether an answer is right; a wrong answer counts as a failure. */
  readonly check?: (bytes: Buffer, start: number, end: number) => boolean
  /** Called after every successful call (advance a counter). */
  readonly advance?: () => void
}

class Client implements StreamHandler {
  private startedMs = 0
  private valid = true
  private readonly connection: Http2Connection
  private readonly plan: CallPlan
  private readonly meter: Meter

  constructor(connection: Http2Connection, plan: CallPlan, meter: Meter) {
    this.connection = connection
    this.plan = plan
    this.meter = meter
  }

  issue(): void {
    if (this.meter.phase === "stopped") return
    this.startedMs = performance.now()
    this.valid = true
    this.meter.inFlight++
    this.connection.start(this.plan.template, this, this.plan.patch)
  }

  onMessage(bytes: Buffer, start: number, end: number): void {
    if (this.plan.check !== undefined && !this.plan.check(bytes, start, end)) this.valid = false
  }

  onEnd(ok: boolean): void {
    this.meter.inFlight--
    const success = ok && this.valid
    this.meter.complete(this.startedMs, success)
    if (success) {
      this.plan.advance?.()
      this.issue()
    } else {
      setTimeout(() => this.issue(), 1) // never spin on a broken connection
    }
  }
}

/** Sends one unary request and resolves with the answer's bytes (rejects on a failed call). */
export function callOnce(connection: Http2Connection, template: RequestTemplate): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let answer: Buffer | undefined
    connection.start(template, {
      onMessage: (bytes, start, end) => (answer = Buffer.from(bytes.subarray(start, end))),
      onEnd: (ok) => (ok && answer !== undefined ? resolve(answer) : reject(new Error("the call failed"))),
    })
  })
}

/** `count` connections; for a cluster, connection i goes to member i mod size (an even spread). */
async function connectAll(server: LoadTarget, count: number): Promise<Array<Http2Connection>> {
  const endpoints = server.members ?? [server]
  return Promise.all(Array.from({ length: count }, (_, i) => {
    const endpoint = endpoints[i % endpoints.length]!
    return Http2Connection.connect(endpoint.host, endpoint.port)
  }))
}

/** CPU seconds of the server, or of every member of a cluster. */
const serverCpuSeconds = (server: LoadTarget) =>
  (server.members ?? [server]).reduce((sum, member) => sum + cpuSeconds(member.pid), 0)

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The usage counters read at both ends of a window. */
function snapshotUsage(server: LoadTarget) {
  return { ms: performance.now(), server: serverCpuSeconds(server), generator: process.cpuUsage(), machine: machineJiffies() }
}

function usageBetween(server: LoadTarget, from: ReturnType<typeof snapshotUsage>, to: ReturnType<typeof snapshotUsage>) {
  const seconds = (to.ms - from.ms) / 1000
  const serverCpu = to.server - from.server
  const generatorUsage = process.cpuUsage(from.generator)
  const generatorCpu = (generatorUsage.user + generatorUsage.system) / 1e6
  const machineShare = (to.machine.busy - from.machine.busy) / Math.max(1, to.machine.total - from.machine.total)
  const machineCores = machineShare * CORES
  return { seconds, serverCpu, generatorCpu, otherCores: Math.max(0, machineCores - (serverCpu + generatorCpu) / seconds) }
}

const CORES = (await import("node:os")).availableParallelism()

type Usage = ReturnType<typeof usageBetween>

/** Warm-up, then the measured window (the meter counts only inside it), then waits for calls in flight. */
async function measureWindow(server: LoadTarget, meter: Meter, timing: Timing): Promise<Usage> {
  await delay(timing.warmupMs)
  const from = snapshotUsage(server)
  meter.phase = "measure"
  await delay(timing.measureMs)
  const to = snapshotUsage(server)
  meter.phase = "stopped"
  await drain(() => meter.inFlight === 0)
  return usageBetween(server, from, to)
}

/** `operations` completed in the window: calls, or delivered events for the watch row. */
function measurement(usage: Usage, meter: Meter, operations: number, failures: number, note: string): Measurement {
  return {
    opsPerSecond: operations / usage.seconds,
    ...meter.percentiles(),
    serverCores: usage.serverCpu / usage.seconds,
    serverCpuUsPerOp: (usage.serverCpu * 1e6) / Math.max(1, operations),
    generatorCores: usage.generatorCpu / usage.seconds,
    otherCores: usage.otherCores,
    failures,
    note,
  }
}

export interface ClosedLoopSpec {
  readonly clients: number
  readonly connections: number
  /** Writes what the workload reads before the clients start. */
  readonly prepare: (connection: Http2Connection, authority: string) => Promise<void>
  readonly plan: (clientIndex: number, authority: string) => CallPlan
}

export async function runClosedLoop(server: LoadTarget, spec: ClosedLoopSpec, timing: Timing): Promise<Measurement> {
  const authority = `${server.host}:${server.port}`
  const connections = await connectAll(server, spec.connections)
  try {
    await spec.prepare(connections[0]!, authority)
    const meter = new Meter()
    const clients = Array.from({ length: spec.clients }, (_, i) =>
      new Client(connections[i % connections.length]!, spec.plan(i, authority), meter))
    for (const client of clients) client.issue()
    const usage = await measureWindow(server, meter, timing)
    return measurement(usage, meter, meter.completed, meter.failures, "")
  } finally {
    for (const connection of connections) connection.close()
  }
}

async function drain(done: () => boolean): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS
  while (!done() && Date.now() < deadline) await delay(10)
}

function templateFor(method: string, authority: string, message: Uint8Array, endStream = true): RequestTemplate {
  return new RequestTemplate(grpcRequestHeaderBlock(method, authority), message, endStream)
}

/** Puts of 256-byte values over a space of 100,000 8-byte keys, each client on its own stride. */
export function putSpec(clients: number, connections: number): ClosedLoopSpec {
  return {
    clients,
    connections,
    prepare: async () => {},
    plan: (clientIndex, authority) => {
      const message = putRequest(`k${"#".repeat(KEY_DIGITS)}`, valueWith("put"))
      const template = templateFor(Method.put, authority, message)
      const keyOffset = markerOffset(message, "#".repeat(KEY_DIGITS))
      let next = clientIndex
      return {
        template,
        patch: (frame, messageOffset) => writeDigits(frame, messageOffset + keyOffset, KEY_DIGITS, next % KEY_SPACE),
        advance: () => (next += clients),
      }
    },
  }
}

/** Ranges over one existing key, linearizable (ReadIndex) or serializable (local). */
export function rangeSpec(clients: number, connections: number, serializable: boolean): ClosedLoopSpec {
  const key = keyAt(0)
  return {
    clients,
    connections,
    prepare: async (connection, authority) => {
      await callOnce(connection, templateFor(Method.put, authority, putRequest(key, valueWith("range"))))
    },
    plan: (_clientIndex, authority) => ({
      template: templateFor(Method.range, authority, rangeRequest(key, serializable)),
      check: (bytes, start, end) => varintField(bytes, start, end, RangeResponseField.count) === 1,
    }),
  }
}

/**
 * Compare-and-swap: each client owns one key whose value carries a counter; a call compares the
 * value with the counter it last wrote and swaps in the next. Every call must succeed.
 */
export function casSpec(clients: number, connections: number): ClosedLoopSpec {
  const casKey = (i: number) => `c${String(i).padStart(KEY_DIGITS, "0")}`
  const counterValue = (n: number) => valueWith(String(n).padStart(COUNTER_DIGITS, "0"))
  return {
    clients,
    connections,
    prepare: async (connection, authority) => {
      await Promise.all(Array.from({ length: clients }, (_, i) =>
        callOnce(connection, templateFor(Method.put, authority, putRequest(casKey(i), counterValue(0))))))
    },
    plan: (clientIndex, authority) => {
      const message = casRequest(casKey(clientIndex), valueWith("E".repeat(COUNTER_DIGITS)), valueWith("R".repeat(COUNTER_DIGITS)))
      const expectedOffset = markerOffset(message, "E".repeat(COUNTER_DIGITS))
      const replacementOffset = markerOffset(message, "R".repeat(COUNTER_DIGITS))
      let counter = 0
      return {
        template: templateFor(Method.txn, authority, message),
        patch: (frame, messageOffset) => {
          writeDigits(frame, messageOffset + expectedOffset, COUNTER_DIGITS, counter)
          writeDigits(frame, messageOffset + replacementOffset, COUNTER_DIGITS, counter + 1)
        },
        check: (bytes, start, end) => varintField(bytes, start, end, TxnResponseField.succeeded) === 1,
        advance: () => counter++,
      }
    },
  }
}

export interface WatchSpec {
  readonly watchers: number
  readonly connections: number
}

/**
 * One writer puts one key in a closed loop; `watchers` watch streams (one watcher each, spread
 * over `connections`) receive every event. Counts events delivered in the window, then checks
 * that every watcher eventually got every event the writer had written.
 */
export async function runWatchFanOut(server: LoadTarget, spec: WatchSpec, timing: Timing): Promise<Measurement> {
  const authority = `${server.host}:${server.port}`
  const watchedKey = "watched0"
  const [writerConnection, ...watchConnections] = await connectAll(server, spec.connections + 1)
  assert(writerConnection !== undefined && watchConnections.length > 0, "a writer and watch connections")
  const meter = new Meter()
  let created = 0
  let eventsInWindow = 0
  const eventsPerWatcher = new Array<number>(spec.watchers).fill(0)
  let broken = 0
  const createTemplate = templateFor(Method.watch, authority, watchCreateRequest(watchedKey), false)
  try {
    for (let w = 0; w < spec.watchers; w++) {
      watchConnections[w % watchConnections.length]!.start(createTemplate, {
        onMessage: (bytes, start, end) => {
          const events = countLenField(bytes, start, end, WatchResponseField.events)
          if (events === 0 && varintField(bytes, start, end, WatchResponseField.created) === 1) created++
          eventsPerWatcher[w]! += events
          if (meter.phase === "measure") eventsInWindow += events
        },
        onEnd: () => broken++,
      })
    }
    await drain(() => created === spec.watchers)
    assert(created === spec.watchers, `all ${spec.watchers} watchers were created (got ${created})`)
    let writes = 0
    const writer = new Client(writerConnection, {
      template: templateFor(Method.put, authority, putRequest(watchedKey, valueWith("watch"))),
      advance: () => writes++,
    }, meter)
    writer.issue()
    const usage = await measureWindow(server, meter, timing)
    await drain(() => eventsPerWatcher.every((n) => n >= writes))
    const missing = eventsPerWatcher.filter((n) => n < writes).length
    const note = `writer ${Math.round(meter.completed / usage.seconds)} puts/s` +
      (missing > 0 ? `; ${missing} watchers missed events` : "")
    return measurement(usage, meter, eventsInWindow, meter.failures + broken + missing, note)
  } finally {
    writerConnection.close()
    for (const connection of watchConnections) connection.close()
  }
}

export interface LoadedMemory {
  readonly residentBytes: number
  readonly loadSeconds: number
}

/** Puts `keys` distinct 8-byte keys with 256-byte values, checks they are all there, reads VmRSS. */
export async function loadAndMeasureRss(server: LoadTarget, keys: number, clients: number, connectionCount: number): Promise<LoadedMemory> {
  const authority = `${server.host}:${server.port}`
  const connections = await connectAll(server, connectionCount)
  try {
    const started = performance.now()
    let next = 0
    let failures = 0
    await Promise.all(Array.from({ length: clients }, async (_, c) => {
      const connection = connections[c % connections.length]!
      for (let i = next++; i < keys; i = next++) {
        const template = templateFor(Method.put, authority, putRequest(keyAt(i), valueWith("rss")))
        await callOnce(connection, template).catch(() => failures++)
      }
    }))
    const loadSeconds = (performance.now() - started) / 1000
    assert(failures === 0, `every put of the load succeeded (${failures} failed)`)
    const counted = await callOnce(connections[0]!, templateFor(Method.range, authority, rangeRequest(keyAt(0), false, true)))
    const count = varintField(counted, 0, counted.length, RangeResponseField.count)
    assert(count === keys, `the server holds the ${keys} keys that were put (it counts ${count})`)
    await delay(2_000) // let both runtimes settle (GC, freed pages) before reading RSS
    return { residentBytes: residentBytes(server.pid), loadSeconds }
  } finally {
    for (const connection of connections) connection.close()
  }
}
