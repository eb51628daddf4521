// WAL throughput with real fdatasync: one save = one write + one fdatasync, as the node loop
// issues once per event-loop turn. Prints saves/s, entries/s, MB/s and save latency for batches
// of 1, 16 and 128 entries of 256 B, then the recovery (replay) time of what was written, the
// encode cost alone, and (with --preallocation) fdatasync latency by preallocation method.
// Run: npm run bench:wal [-- --seconds 3] [-- --preallocation]
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { openWal } from "../src/platform/wal/Wal.ts"
import { encodeSave, saveBytes } from "../src/platform/wal/SaveEncoder.ts"
import type { Entry, HardState } from "../src/raft/Types.ts"
import { logIndex, nodeId, term } from "../src/raft/Types.ts"

const args = process.argv.slice(2)
const secondsPerRow = Number(args[args.indexOf("--seconds") + 1] ?? 3) || 3
const entryDataBytes = 256

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

function makeEntries(from: number, count: number): Entry[] {
  const data = new Uint8Array(entryDataBytes).fill(0x5a)
  return Array.from({ length: count }, (_, k) => ({ index: logIndex(from + k), term: term(1), type: "Normal", data, config: undefined }))
}

async function benchBatch(dir: string, batch: number): Promise<void> {
  const { wal } = await openWal(dir)
  const latenciesUs: number[] = []
  let next = 1
  let bytes = 0
  const started = performance.now()
  while (performance.now() - started < secondsPerRow * 1000) {
    const added = makeEntries(next, batch)
    const hardState: HardState = { currentTerm: term(1), votedFor: nodeId(1), commitIndex: logIndex(next - 1) }
    bytes += saveBytes({ snapshotMarker: undefined, entries: added, hardState })
    const t = performance.now()
    await wal.save(hardState, added)
    latenciesUs.push((performance.now() - t) * 1000)
    next += batch
  }
  const seconds = (performance.now() - started) / 1000
  await wal.close()
  latenciesUs.sort((a, b) => a - b)
  const saves = latenciesUs.length
  const segments = (await fsp.readdir(dir)).filter((n) => n.endsWith(".wal")).length
  const reopenStarted = performance.now()
  const reopened = await openWal(dir)
  const replayMs = performance.now() - reopenStarted
  await reopened.wal.close()
  console.log(
    `batch ${String(batch).padStart(3)}: ${(saves / seconds).toFixed(0).padStart(6)} saves/s ` +
      `${((saves * batch) / seconds).toFixed(0).padStart(7)} entries/s ${(bytes / seconds / 1e6).toFixed(1).padStart(6)} MB/s  ` +
      `save p50 ${percentile(latenciesUs, 0.5).toFixed(0)} us p99 ${percentile(latenciesUs, 0.99).toFixed(0)} us  ` +
      `| ${segments} segment(s), ${(bytes / 2 ** 20).toFixed(0)} MiB replayed in ${replayMs.toFixed(0)} ms`,
  )
}

function benchEncode(batch: number): void {
  const added = makeEntries(1, batch)
  const hardState: HardState = { currentTerm: term(1), votedFor: nodeId(1), commitIndex: logIndex(0) }
  const rounds = Math.ceil(200_000 / batch)
  const t = performance.now()
  for (let i = 0; i < rounds; i++) encodeSave({ snapshotMarker: undefined, entries: added, hardState }, i + 2)
  const usPerEntry = ((performance.now() - t) * 1000) / (rounds * batch)
  console.log(`encode batch ${String(batch).padStart(3)}: ${usPerEntry.toFixed(2)} us per entry (framing + CRC, no I/O)`)
}

/** fdatasync latency of 4 KiB writes: appending, into a hole (ftruncate), into written zeros. */
function benchPreallocation(dir: string): void {
  const block = Buffer.alloc(4096, 7)
  for (const method of ["append", "ftruncate (hole)", "written zeros"]) {
    const file = path.join(dir, "prealloc.bin")
    const fd = fs.openSync(file, "w+")
    const t = performance.now()
    if (method === "ftruncate (hole)") fs.ftruncateSync(fd, 64 << 20)
    if (method === "written zeros") {
      const zeros = Buffer.alloc(1 << 20)
      for (let i = 0; i < 64; i++) fs.writeSync(fd, zeros, 0, zeros.length, i << 20)
    }
    fs.fsyncSync(fd)
    const prepareMs = performance.now() - t
    const us: number[] = []
    for (let i = 0; i < 500; i++) {
      const s = performance.now()
      fs.writeSync(fd, block, 0, block.length, i * block.length)
      fs.fdatasyncSync(fd)
      us.push((performance.now() - s) * 1000)
    }
    fs.closeSync(fd)
    fs.unlinkSync(file)
    us.sort((a, b) => a - b)
    console.log(`${method.padEnd(17)} preallocate ${prepareMs.toFixed(0).padStart(3)} ms  4 KiB write+fdatasync p50 ${percentile(us, 0.5).toFixed(0)} us p99 ${percentile(us, 0.99).toFixed(0)} us`)
  }
}

const root = await fsp.mkdtemp(path.join(os.tmpdir(), "verikv-bench-wal-"))
try {
  console.log(`WAL bench in ${root} (${secondsPerRow} s per row, ${entryDataBytes} B entries, 64 MiB segments)`)
  if (args.includes("--preallocation")) benchPreallocation(root)
  for (const batch of [1, 16, 128]) {
    const dir = path.join(root, `batch-${batch}`)
    await benchBatch(dir, batch)
    await fsp.rm(dir, { recursive: true })
  }
  for (const batch of [1, 16, 128]) benchEncode(batch)
} finally {
  await fsp.rm(root, { recursive: true, force: true })
}
