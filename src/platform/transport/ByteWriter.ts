// A growable little-endian byte buffer for encoding frames. Numbers that are terms, indexes, ids,
// counts and lengths are unsigned LEB128 varints (1 byte below 128, at most 8 bytes for a safe
// integer); 64-bit member and cluster IDs are fixed 8-byte bigints.
import { assert } from "../../assert.ts"

export class ByteWriter {
  /** The backing store; bytes [0, length) are written. Handed off (and replaced) by `take`. */
  private bytes: Buffer
  length = 0

  constructor(capacityBytes = 4096) {
    assert(capacityBytes > 0, "ByteWriter: capacity must be positive")
    this.bytes = Buffer.allocUnsafe(capacityBytes)
  }

  private ensure(extraBytes: number): void {
    const needed = this.length + extraBytes
    if (needed <= this.bytes.length) return
    const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2))
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
  }

  u8(value: number): void {
    this.ensure(1)
    this.bytes[this.length++] = value
  }

  u32(value: number): void {
    this.ensure(4)
    this.bytes.writeUInt32LE(value, this.length)
    this.length += 4
  }

  /** Overwrites 4 bytes written at `offset` (a frame's header is patched after its payload). */
  patchU32(offset: number, value: number): void {
    assert(offset + 4 <= this.length, "ByteWriter.patchU32: beyond the written bytes")
    this.bytes.writeUInt32LE(value, offset)
  }

  u64(value: bigint): void {
    this.ensure(8)
    this.bytes.writeBigUInt64LE(value, this.length)
    this.length += 8
  }

  varint(value: number): void {
    assert(Number.isSafeInteger(value) && value >= 0, "varint: not a non-negative safe integer")
    this.ensure(8)
    const b = this.bytes
    let at = this.length
    let v = value
    while (v > 0x7fffffff) {
      b[at++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    while (v > 0x7f) {
      b[at++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    b[at++] = v
    this.length = at
  }

  /** A length-prefixed byte string. */
  byteString(value: Uint8Array): void {
    this.varint(value.length)
    this.raw(value)
  }

  raw(value: Uint8Array): void {
    this.ensure(value.length)
    this.bytes.set(value, this.length)
    this.length += value.length
  }

  string(value: string): void {
    this.byteString(Buffer.from(value, "utf8"))
  }

  /** Forgets everything written after `length` (an encoded frame that turned out too large). */
  truncate(length: number): void {
    assert(length >= 0 && length <= this.length, "ByteWriter.truncate: beyond the written bytes")
    this.length = length
  }

  /** The written bytes [from, length), as a view (valid until the next write). */
  view(from: number): Buffer {
    return this.bytes.subarray(from, this.length)
  }

  /** Hands the written bytes over (for a socket write) and starts afresh with a new buffer. */
  take(nextCapacityBytes = 4096): Buffer {
    const written = this.bytes.subarray(0, this.length)
    this.bytes = Buffer.allocUnsafe(nextCapacityBytes)
    this.length = 0
    return written
  }
}
