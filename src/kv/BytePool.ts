// Small byte arrays carved out of shared chunks, as Node's Buffer pool does, without node:*.
//
// Why: every fresh ArrayBuffer costs a malloc, external-memory accounting and a sweep by V8's
// ArrayBufferSweeper; at one or more per request that showed up as a large share of GC time on
// the put path. Carving Raft entry payloads out of 256 KiB chunks makes that one allocation per
// ~800 puts. The size is above glibc's mmap threshold as the command sets it (cli/MallocTuning.ts),
// so chunks are mapped on their own, not kept between short-lived buffers in malloc's arena. A chunk stays alive while any array in it does; entries are dropped in log order, so
// chunks are freed in order too. Arrays handed out are never handed out again (no reuse), so a
// holder may keep one as long as it likes; it must not write past its own length.
import { assert } from "../assert.ts"

const CHUNK_BYTES = 256 * 1024
/** Larger arrays get a buffer of their own: packing them would waste a chunk's tail. */
const POOLED_BYTES_MAX = 4 * 1024
/** Arrays start 8-byte aligned, so a DataView over one reads aligned words. */
const ALIGNMENT_BYTES = 8

export class BytePool {
  private chunk = new ArrayBuffer(0)
  private used = 0

  /** A zero-filled array of exactly `length` bytes (chunks start zeroed and are never reused). */
  allocate(length: number): Uint8Array {
    assert(Number.isSafeInteger(length) && length >= 0, "pool: bad length")
    if (length > POOLED_BYTES_MAX) return new Uint8Array(length)
    if (this.used + length > this.chunk.byteLength) {
      this.chunk = new ArrayBuffer(CHUNK_BYTES)
      this.used = 0
    }
    const array = new Uint8Array(this.chunk, this.used, length)
    this.used = (this.used + length + ALIGNMENT_BYTES - 1) & ~(ALIGNMENT_BYTES - 1)
    return array
  }
}
