// KV core throughput and memory, in-process: apply rates for Put, Range and Txn, then the heap
// and RSS cost per key of 100,000 keys of 8 bytes with 256-byte values (etcd's own process uses
// about 140 MiB RSS for that on this machine). Run: npm run bench:kv (needs --expose-gc).
import { apply, newStore, putRequest, rangeRequest, txnRequest, putOp, compare, CompareResult,
  encodeCommand, applyEntry, type KvCommand } from "../src/kv/index.ts"
import type { Entry } from "../src/raft/Types.ts"

const KEYS = 100_000
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with --expose-gc (npm run bench:kv)")

const key = (i: number) => new TextEncoder().encode(`k${String(i).padStart(7, "0")}`) // 8 bytes
const value = (i: number) => new Uint8Array(256).fill(i & 0xff)

function rate(label: string, count: number, run: (i: number) => void): void {
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) run(i)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  console.log(`${label.padEnd(34)} ${Math.round(count / seconds).toLocaleString("en").padStart(10)} ops/s`)
}

gc()
const baseline = process.memoryUsage()
const store = newStore()
rate("put (new keys, 256 B values)", KEYS, (i) => apply(store, { type: "Put", request: putRequest({ key: key(i), value: value(i) }) }))
gc()
const loaded = process.memoryUsage()
const heapPerKey = (loaded.heapUsed + loaded.arrayBuffers - baseline.heapUsed - baseline.arrayBuffers) / KEYS
console.log(`bytes per key (heap + array buffers)  ${Math.round(heapPerKey)}`)
console.log(`RSS with ${KEYS.toLocaleString("en")} keys                ${(loaded.rss / 2 ** 20).toFixed(1)} MiB`)

rate("put (overwrite)", KEYS, (i) => apply(store, { type: "Put", request: putRequest({ key: key(i), value: value(i + 1) }) }))
rate("range (one key)", KEYS, (i) => apply(store, { type: "Range", request: rangeRequest({ key: key(i) }) }))
rate("range (10 keys, limit 10)", KEYS / 10, (i) => apply(store, { type: "Range",
  request: rangeRequest({ key: key(i * 10), rangeEnd: key(i * 10 + 10), limit: 10 }) }))
rate("txn (compare version, put)", KEYS, (i) => apply(store, { type: "Txn", request: txnRequest({
  compare: [compare(key(i), CompareResult.GREATER, { target: "VERSION", version: 0 })],
  success: [putOp(putRequest({ key: key(i), value: value(i) }))] }) }))
const entries: Entry[] = Array.from({ length: 20_000 }, (_, i) => {
  const command: KvCommand = { type: "Put", request: putRequest({ key: key(i), value: value(i) }) }
  return { term: 1, index: i + 1, type: "Normal", data: encodeCommand(command), config: undefined } as unknown as Entry
})
rate("applyEntry (decode + put)", entries.length, (i) => applyEntry(store, entries[i]!))
gc()
console.log(`RSS at the end (history kept)         ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`)
