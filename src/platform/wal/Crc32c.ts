// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum etcd's WAL and iSCSI use.
// Hand-written slicing-by-8: eight 256-entry tables let the loop fold 8 bytes per iteration.
// Measured on this machine (bench/crc32c.ts, 1 MiB buffers, Node 24): about 1.2 GB/s for
// slicing-by-8 versus about 0.37 GB/s for the one-table byte loop; the native SSE4.2
// @node-rs/crc32 reached about 11 GB/s but costs ~0.5 us per call on small records and adds a
// native dependency. At 1.2 GB/s a 1 MiB group commit spends under 1 ms on checksums, next to
// a ~100 us fdatasync for small batches, so the plain TypeScript version is kept.

const POLYNOMIAL_REFLECTED = 0x82f63b78

// tables[t][n]: the CRC of byte n followed by t zero bytes.
function makeTables(): Int32Array[] {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256))
  const [first] = tables
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1
    first![n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = first![n]!
    for (let t = 1; t < 8; t++) {
      c = first![c & 0xff]! ^ (c >>> 8)
      tables[t]![n] = c
    }
  }
  return tables
}

// Separate typed arrays (not one table with offsets) measured about 2x faster in V8.
const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables() as [
  Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array,
]

/**
 * Continues a CRC-32C over `bytes[start, end)`. `crc` is a previous result (0 to start afresh),
 * so a checksum can span several buffers without concatenating them.
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc
  let i = start
  const stop8 = end - ((end - start) & 7)
  while (i < stop8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))
    c =
      T7[lo & 0xff]! ^ T6[(lo >>> 8) & 0xff]! ^ T5[(lo >>> 16) & 0xff]! ^ T4[lo >>> 24]! ^
      T3[bytes[i + 4]!]! ^ T2[bytes[i + 5]!]! ^ T1[bytes[i + 6]!]! ^ T0[bytes[i + 7]!]!
    i += 8
  }
  while (i < end) c = T0[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** The one-table byte-at-a-time loop: the reference the tests and bench compare against. */
export function crc32cBytewise(bytes: Uint8Array, crc = 0): number {
  let c = ~crc
  for (let i = 0; i < bytes.length; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}
