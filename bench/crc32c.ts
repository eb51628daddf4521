// CRC-32C throughput: slicing-by-8 against the byte loop, on record-sized and large buffers.
// Run: npx node bench/crc32c.ts
import { crc32c, crc32cBytewise } from "../src/platform/wal/Crc32c.ts"

function measure(name: string, fn: (b: Uint8Array) => number, sizeBytes: number): void {
  const buffer = new Uint8Array(sizeBytes).map((_, i) => (i * 31 + 7) & 0xff)
  const totalBytes = 256 << 20
  const rounds = Math.max(1, Math.floor(totalBytes / sizeBytes))
  let sink = 0
  for (let i = 0; i < Math.min(rounds, 1000); i++) sink ^= fn(buffer) // warm-up
  const started = process.hrtime.bigint()
  for (let i = 0; i < rounds; i++) sink ^= fn(buffer)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const mbPerSecond = (rounds * sizeBytes) / seconds / 1e6
  console.log(`${name.padEnd(14)} ${String(sizeBytes).padStart(8)} B  ${mbPerSecond.toFixed(0).padStart(6)} MB/s  (${sink & 1})`)
}

for (const size of [64, 300, 4096, 1 << 20]) {
  measure("slicing-by-8", (b) => crc32c(b), size)
  measure("bytewise", (b) => crc32cBytewise(b), size)
}
