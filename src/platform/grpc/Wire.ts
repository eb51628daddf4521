// Protobuf wire format primitives (varint, length-delimited, fixed) for the etcd message codecs.
//
// Why not protobufjs: it reads int64 as Long objects (or as lossy doubles without `long`), while
// etcd hands out lease IDs across the whole int64 range, and its decoded objects would be mapped
// again onto src/kv/Api.ts types. The codecs in EtcdCodec.ts write those types straight from and
// to bytes with these primitives, so a call allocates its request object and nothing else.
import { GrpcError, Status } from "./Status.ts"

export const WireType = { VARINT: 0, FIXED64: 1, LEN: 2, FIXED32: 5 } as const

const TWO_POW_32 = 4294967296

function malformed(what: string): GrpcError {
  return new GrpcError(Status.INTERNAL, `grpc: error unmarshalling request: ${what}`)
}

export class ProtoReader {
  readonly bytes: Uint8Array
  pos: number
  readonly end: number

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes
    this.pos = start
    this.end = end
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  /** A field key: field number << 3 | wire type. */
  tag(): number {
    const key = this.uint32()
    // Field number 0 is reserved; etcd's decoder refuses it ("illegal tag 0") and so do we.
    if (key >>> 3 === 0) throw malformed(`illegal tag 0 (wire type ${key & 7})`)
    return key
  }

  uint32(): number {
    let result = 0
    let shift = 0
    for (;;) {
      if (this.pos >= this.end) throw malformed("truncated varint")
      const byte = this.bytes[this.pos++]!
      if (shift < 28) result |= (byte & 0x7f) << shift
      else if (shift === 28) result += (byte & 0x0f) * 2 ** 28 // the high bits of a 64-bit varint are dropped
      if ((byte & 0x80) === 0) return result >>> 0
      shift += 7
      if (shift > 63) throw malformed("varint longer than 10 bytes")
    }
  }

  /**
   * An int64 that must be a safe integer here (revisions, versions, counts, TTLs); a negative
   * int64 arrives as a 10-byte two's complement varint.
   */
  int64(): number {
    const [low, high] = this.varint64()
    if (high >= 0x80000000) {
      // Negative: two's complement over 64 bits.
      const value = -((~high >>> 0) * TWO_POW_32 + (~low >>> 0) + 1)
      if (!Number.isSafeInteger(value)) throw malformed("int64 out of range")
      return value
    }
    const value = high * TWO_POW_32 + low
    if (!Number.isSafeInteger(value)) throw malformed("int64 out of range")
    return value
  }

  /** An int64 kept exact (lease IDs). */
  int64Big(): bigint {
    const [low, high] = this.varint64()
    return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low))
  }

  /** A uint64 kept exact (member and cluster IDs). */
  uint64Big(): bigint {
    const [low, high] = this.varint64()
    return (BigInt(high) << 32n) | BigInt(low)
  }

  bool(): boolean {
    return this.uint32() !== 0
  }

  /** A view of the field's bytes (no copy: callers that keep it past the call copy it). */
  bytesField(): Uint8Array {
    const length = this.uint32()
    const start = this.pos
    if (length > this.end - start) throw malformed("length-delimited field beyond the message")
    this.pos = start + length
    return this.bytes.subarray(start, start + length)
  }

  string(): string {
    const view = this.bytesField()
    return Buffer.from(view.buffer, view.byteOffset, view.length).toString("utf8")
  }

  /** A reader over a nested message. */
  nested(): ProtoReader {
    const view = this.bytesField()
    return new ProtoReader(this.bytes, view.byteOffset - this.bytes.byteOffset, view.byteOffset - this.bytes.byteOffset + view.length)
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint64()
        return
      case WireType.FIXED64:
        this.advance(8)
        return
      case WireType.LEN:
        this.bytesField()
        return
      case WireType.FIXED32:
        this.advance(4)
        return
      default:
        throw malformed(`unsupported wire type ${wireType}`)
    }
  }

  private advance(count: number): void {
    if (this.end - this.pos < count) throw malformed("truncated fixed-width field")
    this.pos += count
  }

  private varint64(): [number, number] {
    let low = 0
    let high = 0
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw malformed("truncated varint")
      const byte = this.bytes[this.pos++]!
      const bits = byte & 0x7f
      if (shift < 28) low |= bits << shift
      else if (shift === 28) {
        low |= (bits & 0x0f) << 28
        high |= bits >>> 4
      } else high |= bits << (shift - 32)
      if ((byte & 0x80) === 0) return [low >>> 0, high >>> 0]
    }
    throw malformed("varint longer than 10 bytes")
  }
}

/**
 * Writes into one growing buffer. Nested messages use fork()/join(): the body is written in
 * place, then moved right by the size of its length prefix (a memmove of a few bytes beats
 * sizing every message twice).
 */
export class ProtoWriter {
  private buffer: Buffer
  private pos = 0
  private readonly forks: Array<number> = []

  constructor(initialBytes = 256) {
    this.buffer = Buffer.allocUnsafe(initialBytes)
  }

  finish(): Buffer {
    if (this.forks.length !== 0) throw new Error("ProtoWriter: unjoined fork")
    return this.buffer.subarray(0, this.pos)
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.pos + extra))
    this.buffer.copy(grown, 0, 0, this.pos)
    this.buffer = grown
  }

  private varint(value: number): void {
    this.ensure(10)
    while (value > 0x7f) {
      this.buffer[this.pos++] = (value % 128) | 0x80
      value = Math.floor(value / 128)
    }
    this.buffer[this.pos++] = value
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType)
  }

  /** A non-negative integer field (uint32, uint64 or int64 >= 0); zero is the default and omitted. */
  uint(field: number, value: number): void {
    if (value === 0) return
    if (value < 0) return this.int64(field, value)
    this.key(field, WireType.VARINT)
    this.varint(value)
  }

  /** An int64 field from a safe integer, negatives as 10-byte two's complement. */
  int64(field: number, value: number): void {
    if (value >= 0) return this.uint(field, value)
    this.int64Big(field, BigInt(value))
  }

  int64Big(field: number, value: bigint): void {
    if (value === 0n) return
    this.key(field, WireType.VARINT)
    let unsigned = BigInt.asUintN(64, value)
    this.ensure(10)
    while (unsigned > 0x7fn) {
      this.buffer[this.pos++] = Number(unsigned & 0x7fn) | 0x80
      unsigned >>= 7n
    }
    this.buffer[this.pos++] = Number(unsigned)
  }

  bool(field: number, value: boolean): void {
    if (!value) return
    this.key(field, WireType.VARINT)
    this.varint(1)
  }

  bytes(field: number, value: Uint8Array): void {
    if (value.length !== 0) this.bytesAlways(field, value)
  }

  /** Bytes that are already encoded fields (a cached prefix). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length)
    this.buffer.set(bytes, this.pos)
    this.pos += bytes.length
  }

  /** A bytes field written even when empty (repeated bytes elements). */
  bytesAlways(field: number, value: Uint8Array): void {
    this.key(field, WireType.LEN)
    this.varint(value.length)
    this.ensure(value.length)
    this.buffer.set(value, this.pos)
    this.pos += value.length
  }

  string(field: number, value: string): void {
    if (value.length === 0) return
    this.bytes(field, Buffer.from(value, "utf8"))
  }

  /** Starts a nested message in `field`; end it with join(). */
  fork(field: number): void {
    this.key(field, WireType.LEN)
    this.forks.push(this.pos)
  }

  join(): void {
    const start = this.forks.pop()
    if (start === undefined) throw new Error("ProtoWriter: join without fork")
    const length = this.pos - start
    let prefixBytes = 1
    for (let v = length; v > 0x7f; v = Math.floor(v / 128)) prefixBytes++
    this.ensure(prefixBytes)
    this.buffer.copyWithin(start + prefixBytes, start, this.pos)
    let at = start
    let v = length
    while (v > 0x7f) {
      this.buffer[at++] = (v % 128) | 0x80
      v = Math.floor(v / 128)
    }
    this.buffer[at] = v
    this.pos += prefixBytes
  }
}

/** Runs `fill` on a fresh writer and returns the message bytes. */
export function encodeMessage(fill: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter()
  fill(w)
  return w.finish()
}

/**
 * Reads a message whose only field of interest is field 1 (HashKVRequest.revision, a lease ID,
 * a member ID): `read` decodes it, other fields are skipped, `absent` is proto3's default.
 */
export function readField1<T>(r: ProtoReader, read: (r: ProtoReader) => T, absent: T): T {
  let value = absent
  while (!r.done) {
    const tag = r.tag()
    if (tag >>> 3 === 1) value = read(r)
    else r.skip(tag & 7)
  }
  return value
}
