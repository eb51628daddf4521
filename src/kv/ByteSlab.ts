// Copies of stored keys and values packed into shared 256 KiB chunks. A Uint8Array with its own
// ArrayBuffer costs a separate off-heap allocation plus bookkeeping for every value (about
// 300 bytes on top of the data in Node 24); a view into a shared chunk costs only the view. A
// chunk lives while any view into it does, so compaction frees chunks once all their records go.
import type { Bytes } from "./Api.ts"

const CHUNK_BYTES = 256 * 1024
/** Larger values get their own buffer: packing them would waste the chunk's tail. */
const PACKED_BYTES_MAX = 4 * 1024

export class ByteSlab {
  private chunk = new Uint8Array(CHUNK_BYTES)
  private used = 0

  /** A private copy of `bytes` (the store never keeps a caller's buffer). */
  copy(bytes: Bytes): Bytes {
    const length = bytes.length
    if (length === 0) return bytes.subarray(0, 0)
    if (length > PACKED_BYTES_MAX) return bytes.slice()
    if (this.used + length > CHUNK_BYTES) {
      this.chunk = new Uint8Array(CHUNK_BYTES)
      this.used = 0
    }
    const view = this.chunk.subarray(this.used, this.used + length)
    view.set(bytes)
    this.used += length
    return view
  }
}
