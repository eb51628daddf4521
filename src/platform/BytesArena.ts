// Raft entry data packed into shared 64 KiB chunks instead of one ArrayBuffer per entry. The
// in-memory log keeps every entry until a snapshot compacts it (100,000 by default), and each
// separate ArrayBuffer costs about 200 bytes beyond its contents (V8's backing store record and
// extension, the JSArrayBuffer, malloc headers) and one more item for every GC's array-buffer
// sweep. Entries leave the log in the order they came, so a chunk is freed soon after its last
// entry is compacted away. Larger byte strings get a buffer of their own, so a chunk is never
// held for one big entry.
const CHUNK_BYTES = 64 * 1024
/** Longer byte strings are copied into a buffer of their own. */
const PACKED_BYTES_MAX = CHUNK_BYTES / 16

export class BytesArena {
  private chunk = new Uint8Array(0)
  private used = 0

  /** A copy of `bytes`, usually a view of a shared chunk: do not assume byteOffset 0. */
  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.length
    if (length > PACKED_BYTES_MAX) return new Uint8Array(bytes)
    if (this.used + length > this.chunk.length) {
      this.chunk = new Uint8Array(CHUNK_BYTES)
      this.used = 0
    }
    const view = this.chunk.subarray(this.used, this.used + length)
    view.set(bytes)
    this.used += length
    return view
  }
}
