// Stored keys and values packed into shared 256 KiB chunks and named by a number, not by a
// Uint8Array view: a view costs about 100 bytes of object per value and a separate buffer about
// 300 more, while a location costs 8. Views are made only when an answer carries the bytes (a view
// of a chunk is also about twice as quick to make as a fresh copy of a short key).
//
// A location is chunk * CHUNK_BYTES + offset (a safe integer). Each chunk counts its live bytes;
// an emptied chunk is dropped (its number is reused), and compaction moves the few survivors out
// of nearly empty chunks (`isSparse`) so that a long-lived store does not pin half-dead chunks.
import { assert } from "../assert.ts"
import type { Bytes } from "./Api.ts"

const CHUNK_BYTES = 256 * 1024
/** Larger values get a chunk of their own: packing them would waste the shared chunk's tail. */
const PACKED_BYTES_MAX = 4 * 1024
/** A chunk below this many live bytes is worth emptying by moving its values. */
const SPARSE_BYTES = CHUNK_BYTES / 4

export class ByteSlab {
  private readonly chunks: Array<ArrayBuffer | undefined> = []
  /** Live bytes per chunk; a chunk is dropped when this returns to 0 (except the filling one). */
  private readonly live: number[] = []
  private readonly freeChunks: number[] = []
  /** The chunk new small values go to, and how far it is filled. */
  private current = -1
  private used = CHUNK_BYTES

  /**
   * Copies `first` and then `second` in, side by side (the store never keeps a caller's buffer);
   * returns the location of the first byte.
   */
  store(first: Bytes, second: Bytes): number {
    const length = first.length + second.length
    if (length === 0) return 0
    let location: number
    if (length > PACKED_BYTES_MAX) {
      const chunk = this.newChunk(new ArrayBuffer(length))
      location = chunk * CHUNK_BYTES
    } else {
      if (this.used + length > CHUNK_BYTES) {
        const previous = this.current
        this.current = this.newChunk(new ArrayBuffer(CHUNK_BYTES))
        this.used = 0
        if (previous !== -1 && this.live[previous] === 0) this.dropChunk(previous)
      }
      location = this.current * CHUNK_BYTES + this.used
      this.used += length
    }
    const chunk = Math.floor(location / CHUNK_BYTES)
    const target = new Uint8Array(this.chunks[chunk]!, location - chunk * CHUNK_BYTES, length)
    target.set(first)
    target.set(second, first.length)
    this.live[chunk]! += length
    return location
  }

  /** A view of stored bytes (shares the chunk: callers must not write to it). */
  view(location: number, length: number): Bytes {
    const chunk = Math.floor(location / CHUNK_BYTES)
    const buffer = this.chunks[chunk]
    assert(buffer !== undefined || length === 0, "slab: view of a dropped chunk")
    return buffer === undefined ? new Uint8Array(0) : new Uint8Array(buffer, location - chunk * CHUNK_BYTES, length)
  }

  /** Forgets stored bytes; their chunk goes when nothing in it is live. */
  release(location: number, length: number): void {
    if (length === 0) return
    const chunk = Math.floor(location / CHUNK_BYTES)
    const left = this.live[chunk]! - length
    assert(left >= 0 && this.chunks[chunk] !== undefined, "slab: released more than was stored")
    this.live[chunk] = left
    if (left === 0 && chunk !== this.current) this.dropChunk(chunk)
  }

  /** Whether the value at `location` sits in a shared chunk that is mostly dead. */
  isSparse(location: number, length: number): boolean {
    if (length === 0 || length > PACKED_BYTES_MAX) return false
    const chunk = Math.floor(location / CHUNK_BYTES)
    return chunk !== this.current && this.live[chunk]! < SPARSE_BYTES
  }

  /** Chunks held now (for tests and the memory bench). */
  get chunkCount(): number {
    return this.chunks.length - this.freeChunks.length
  }

  private newChunk(buffer: ArrayBuffer): number {
    const chunk = this.freeChunks.pop() ?? this.chunks.length
    this.chunks[chunk] = buffer
    this.live[chunk] = 0
    return chunk
  }

  private dropChunk(chunk: number): void {
    this.chunks[chunk] = undefined
    this.freeChunks.push(chunk)
  }
}
