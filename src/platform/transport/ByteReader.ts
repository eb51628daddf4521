// Bounds-checked decoding of what ByteWriter wrote. Every failure is a PeerProtocolError: the
// bytes come from a peer, so a short or malformed payload is the peer's fault, not ours.
import { PeerProtocolError } from "./ProtocolError.ts"

export class ByteReader {
  private readonly bytes: Uint8Array
  private at: number
  private readonly end: number
  /**
   * Whether `bytes` belong to this reader's caller alone: then byte strings are views into them.
   * Otherwise (a view of a socket's receive buffer) each is copied, so as not to pin that buffer.
   */
  private readonly owned: boolean

  constructor(bytes: Uint8Array, start = 0, end = bytes.length, owned = false) {
    this.bytes = bytes
    this.at = start
    this.end = end
    this.owned = owned
  }

  remainingBytes(): number {
    return this.end - this.at
  }

  private need(count: number, what: string): void {
    if (this.end - this.at < count) throw new PeerProtocolError(`truncated ${what}`)
  }

  u8(what: string): number {
    this.need(1, what)
    return this.bytes[this.at++]!
  }

  u64(what: string): bigint {
    this.need(8, what)
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at, 8)
    this.at += 8
    return view.getBigUint64(0, true)
  }

  varint(what: string): number {
    let result = 0
    let scale = 1
    for (let k = 0; k < 8; k++) {
      if (this.at >= this.end) throw new PeerProtocolError(`truncated ${what}`)
      const byte = this.bytes[this.at++]!
      result += (byte & 0x7f) * scale
      if (byte < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw new PeerProtocolError(`${what} beyond 2^53`)
        return result
      }
      scale *= 0x80
    }
    throw new PeerProtocolError(`${what}: varint longer than 8 bytes`)
  }

  /**
   * A count of items that each take at least `itemBytesMin` bytes: checked against what is left,
   * so a hostile count cannot make us allocate more than the frame could hold.
   */
  count(what: string, itemBytesMin: number): number {
    const n = this.varint(what)
    if (n * itemBytesMin > this.remainingBytes()) {
      throw new PeerProtocolError(`${what} ${n} exceeds the payload`)
    }
    return n
  }

  /** A length-prefixed byte string (see `owned`). */
  byteString(what: string): Uint8Array {
    return this.bytesOf(this.varint(what), what)
  }

  /** The next `length` bytes, as a view if the bytes are owned, else as a copy (see `owned`). */
  bytesOf(length: number, what: string): Uint8Array {
    const view = this.view(length, what)
    // `new Uint8Array(view)` copies into a plain Uint8Array (a Buffer's slice makes a Buffer).
    return this.owned ? view : new Uint8Array(view)
  }

  /** The next `length` bytes as a view into the payload (the caller copies if it keeps them). */
  view(length: number, what: string): Uint8Array {
    this.need(length, what)
    const view = this.bytes.subarray(this.at, this.at + length)
    this.at += length
    return view
  }

  string(what: string): string {
    const bytes = this.byteString(what)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
  }

  /** Trailing bytes mean the two sides disagree about the layout. */
  expectEnd(what: string): void {
    if (this.at !== this.end) {
      throw new PeerProtocolError(`${this.end - this.at} trailing bytes after ${what}`)
    }
  }
}
