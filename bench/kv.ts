// KV core throughput and memory, in-process. Memory first, in a fresh child process: RSS before
// and after 100,000 Puts of 8-byte keys with 256-byte values through `apply` (etcd 3.4's whole
// process uses about 140 MiB RSS for that on this machine), and the bytes per key the store holds
// (heap + external memory after a full GC). Then apply rates for Put, Range and Txn on a loaded
// store. The machine is shared, so rates are per CPU-second of this process (contention changes
// wall time far more than CPU time), best of several rounds, with the median beside it.
// Run: npm run bench:kv [-- --rounds 5] (needs --expose-gc, which the npm script passes), or
// node --expose-gc <flags> bench/kv.ts to see what Node flags do to RSS and rates.
import { execFileSync } from "node:child_process"
import { apply, newStore, putRequest, rangeRequest, txnRequest, putOp, compare, CompareResult,
  encodeCommand, applyEntry, type KvCommand, type KvStore } from "../src/kv/index.ts"
import type { Entry } from "../src/raft/Types.ts"

const KEYS = 100_000
const args = process.argv.slice(2)
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 5) || 5
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with --expose-gc (npm run bench:kv)")

const encoder = new TextEncoder()
const key = (i: number) => encoder.encode(`k${String(i).padStart(7, "0")}`) // 8 bytes
const value = (i: number) => new Uint8Array(256).fill(i & 0xff)
const put = (store: KvStore, i: number, salt = 0) =>
  apply(store, { type: "Put", request: putRequest({ key: key(i), value: value(i + salt) }) })
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

/** The child: load 100,000 keys into a fresh store and print what it costs, as JSON. */
function measureMemory(): void {
  gc!()
  gc!()
  const before = process.memoryUsage()
  const store = newStore()
  for (let i = 0; i < KEYS; i++) put(store, i)
  gc!()
  gc!()
  const after = process.memoryUsage()
  const held = after.heapUsed + after.external - before.heapUsed - before.external
  console.log(JSON.stringify({ rssBefore: before.rss, rssAfter: after.rss, bytesPerKey: held / KEYS,
    heapPerKey: (after.heapUsed - before.heapUsed) / KEYS, keys: store.index.size }))
}

/** Each round of "new keys" fills a store of its own, so every Put creates a key. */
let fresh: KvStore | undefined
function newStoreFor(i: number): KvStore {
  if (i === 0 || fresh === undefined) fresh = newStore()
  return fresh
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/** Runs `run` for i in [0, count) per round; `between` (untimed) follows each round. */
function rate(label: string, count: number, run: (i: number) => void, between: () => void = () => {}): void {
  const rates: number[] = []
  for (let round = 0; round < rounds; round++) {
    const start = cpuSeconds()
    for (let i = 0; i < count; i++) run(i)
    rates.push(count / (cpuSeconds() - start))
    between()
  }
  rates.sort((a, b) => a - b)
  const format = (r: number) => Math.round(r).toLocaleString("en").padStart(10)
  console.log(`${label.padEnd(30)} ${format(rates[rates.length - 1]!)} ops/s (median ${format(rates[rates.length >> 1]!).trim()})`)
}

if (args.includes("--memory-child")) {
  measureMemory()
} else {
  // The child gets this process's Node flags (try --max-semi-space-size, which bounds V8's young generation).
  const output = execFileSync(process.execPath, [...process.execArgv, import.meta.filename, "--memory-child"], { encoding: "utf8" })
  const memory = JSON.parse(output) as { rssBefore: number; rssAfter: number; bytesPerKey: number; heapPerKey: number; keys: number }
  if (memory.keys !== KEYS) throw new Error(`memory child loaded ${memory.keys} keys`)
  console.log(`bytes per key (heap + external)  ${Math.round(memory.bytesPerKey)} (heap ${Math.round(memory.heapPerKey)})`)
  console.log(`RSS of a fresh process           ${mib(memory.rssBefore)} before, ${mib(memory.rssAfter)} with ${KEYS.toLocaleString("en")} keys`)

  const store = newStore()
  for (let i = 0; i < KEYS; i++) put(store, i)
  rate("put (new keys, 256 B values)", KEYS, (i) => put(newStoreFor(i), i))
  // Writes compact between rounds, so history stays at one record per key.
  const compact = () => void apply(store, { type: "Compaction", request: { revision: store.currentRevision, physical: true } })
  rate("put (overwrite)", KEYS, (i) => put(store, i, 1), compact)
  rate("range (one key)", KEYS, (i) => apply(store, { type: "Range", request: rangeRequest({ key: key(i) }) }))
  rate("range (10 keys, limit 10)", KEYS / 10, (i) => apply(store, { type: "Range",
    request: rangeRequest({ key: key(i * 10), rangeEnd: key(i * 10 + 10), limit: 10 }) }))
  rate("txn (compare version, put)", KEYS, (i) => apply(store, { type: "Txn", request: txnRequest({
    compare: [compare(key(i), CompareResult.GREATER, { target: "VERSION", version: 0 })],
    success: [putOp(putRequest({ key: key(i), value: value(i) }))] }) }), compact)
  const entries: Entry[] = Array.from({ length: 20_000 }, (_, i) => {
    const command: KvCommand = { type: "Put", request: putRequest({ key: key(i), value: value(i) }) }
    return { term: 1, index: i + 1, type: "Normal", data: encodeCommand(command), config: undefined } as unknown as Entry
  })
  rate("applyEntry (decode + put)", entries.length, (i) => applyEntry(store, entries[i]!), compact)
}
