// A compact binary codec for KvCommand, the payload of Normal Raft entries.
//
// Layout: a format byte (1), a command tag, then the fields in declaration order. Byte strings are
// a length varint and the bytes; booleans share one flags byte; integers are "signed varints"
// (first byte: continuation bit, sign bit, 6 low bits of the magnitude; then the rest of the
// magnitude as LEB128), exact over the safe-integer range; lease IDs are 8 bytes big-endian
// two's complement (int64) after a flag saying the lease is set. Decoding copies byte strings, so
// the store never pins the buffer an entry arrived in.
import { AssertionFailure, assert } from "../assert.ts"
import { NoLease, type Bytes, type Compare, type CompareResult, type KvCommand, type LeaseId,
  type RangeRequest, type RequestOp, type SortOrder, type SortTarget, type TxnRequest } from "./Api.ts"

const FORMAT = 1
const TAGS = ["Range", "Put", "DeleteRange", "Txn", "Compaction", "LeaseGrant", "LeaseRevoke"] as const
const COMPARE_TARGETS = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"] as const

class Writer {
  private buffer: Uint8Array
  private view: DataView
  length: number

  /** `skipBytes` are left for the caller to fill (an envelope around the command). */
  constructor(capacityBytes: number, skipBytes: number) {
    this.buffer = new Uint8Array(capacityBytes)
    this.view = new DataView(this.buffer.buffer)
    this.length = skipBytes
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra))
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }

  byte(value: number): void {
    this.reserve(1)
    this.buffer[this.length++] = value
  }

  unsigned(value: number): void {
    assert(Number.isSafeInteger(value) && value >= 0, "codec: unsigned value out of range")
    this.reserve(8)
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80
      value = Math.floor(value / 0x80)
    }
    this.buffer[this.length++] = value
  }

  signed(value: number): void {
    assert(Number.isSafeInteger(value), "codec: integer out of the safe range")
    const magnitude = Math.abs(value)
    const rest = Math.floor(magnitude / 0x40)
    this.byte((rest > 0 ? 0x80 : 0) | (value < 0 ? 0x40 : 0) | (magnitude % 0x40))
    if (rest > 0) this.unsigned(rest)
  }

  bytes(value: Bytes): void {
    this.unsigned(value.length)
    this.reserve(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
  }

  lease(value: LeaseId): void {
    this.reserve(8)
    this.view.setBigInt64(this.length, value)
    this.length += 8
  }

  flags(...bits: boolean[]): void {
    let value = 0
    bits.forEach((bit, i) => { if (bit) value |= 1 << i })
    this.byte(value)
  }

  /** A view of the written bytes (callers that keep it copy it: see server/EntryData.ts). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length)
  }
}

class Reader {
  private readonly data: Uint8Array
  private readonly view: DataView
  offset = 0
  constructor(data: Uint8Array) {
    this.data = data
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  }

  byte(): number {
    assert(this.offset < this.data.length, "codec: truncated command")
    return this.data[this.offset++]!
  }

  unsigned(): number {
    let value = 0
    let scale = 1
    for (;;) {
      const next = this.byte()
      value += (next & 0x7f) * scale
      if ((next & 0x80) === 0) break
      scale *= 0x80
      assert(scale <= 2 ** 56, "codec: varint too long")
    }
    assert(Number.isSafeInteger(value), "codec: varint out of the safe range")
    return value
  }

  signed(): number {
    const first = this.byte()
    const magnitude = (first & 0x3f) + ((first & 0x80) !== 0 ? this.unsigned() * 0x40 : 0)
    assert(Number.isSafeInteger(magnitude), "codec: integer out of the safe range")
    return (first & 0x40) !== 0 ? -magnitude : magnitude
  }

  bytes(): Bytes {
    const length = this.unsigned()
    assert(this.offset + length <= this.data.length, "codec: truncated byte string")
    const value = this.data.slice(this.offset, this.offset + length)
    this.offset += length
    return value
  }

  lease(): LeaseId {
    assert(this.offset + 8 <= this.data.length, "codec: truncated lease")
    const value = this.view.getBigInt64(this.offset)
    this.offset += 8
    return value
  }

  flags(): (bit: number) => boolean {
    const value = this.byte()
    return (bit) => (value & (1 << bit)) !== 0
  }

  done(): void {
    assert(this.offset === this.data.length, "codec: trailing bytes after a command")
  }
}

function writeRange(w: Writer, r: RangeRequest): void {
  w.bytes(r.key)
  w.bytes(r.rangeEnd)
  w.signed(r.limit)
  w.signed(r.revision)
  w.byte(r.sortOrder)
  w.byte(r.sortTarget)
  w.flags(r.serializable, r.keysOnly, r.countOnly)
  w.signed(r.minModRevision)
  w.signed(r.maxModRevision)
  w.signed(r.minCreateRevision)
  w.signed(r.maxCreateRevision)
}

function readRange(r: Reader): RangeRequest {
  const key = r.bytes()
  const rangeEnd = r.bytes()
  const limit = r.signed()
  const revision = r.signed()
  const sortOrder = r.byte()
  const sortTarget = r.byte()
  assert(sortOrder <= 2 && sortTarget <= 4, "codec: bad sort")
  const flag = r.flags()
  return {
    key, rangeEnd, limit, revision,
    sortOrder: sortOrder as SortOrder, sortTarget: sortTarget as SortTarget,
    serializable: flag(0), keysOnly: flag(1), countOnly: flag(2),
    minModRevision: r.signed(), maxModRevision: r.signed(),
    minCreateRevision: r.signed(), maxCreateRevision: r.signed(),
  }
}

function writeCompare(w: Writer, c: Compare): void {
  w.byte(c.result)
  w.byte(COMPARE_TARGETS.indexOf(c.target))
  w.bytes(c.key)
  w.bytes(c.rangeEnd)
  switch (c.target) {
    case "VERSION": return w.signed(c.version)
    case "CREATE": return w.signed(c.createRevision)
    case "MOD": return w.signed(c.modRevision)
    case "VALUE": return w.bytes(c.value)
    case "LEASE": return w.lease(c.lease)
  }
}

function readCompare(r: Reader): Compare {
  const result = r.byte()
  assert(result <= 3, "codec: bad compare result")
  const target = COMPARE_TARGETS[r.byte()]
  assert(target !== undefined, "codec: bad compare target")
  const base = { result: result as CompareResult, key: r.bytes(), rangeEnd: r.bytes() }
  switch (target) {
    case "VERSION": return { ...base, target, version: r.signed() }
    case "CREATE": return { ...base, target, createRevision: r.signed() }
    case "MOD": return { ...base, target, modRevision: r.signed() }
    case "VALUE": return { ...base, target, value: r.bytes() }
    case "LEASE": return { ...base, target, lease: r.lease() }
  }
}

function writeTxn(w: Writer, t: TxnRequest): void {
  w.unsigned(t.compare.length)
  for (const c of t.compare) writeCompare(w, c)
  for (const ops of [t.success, t.failure]) {
    w.unsigned(ops.length)
    for (const op of ops) writeOp(w, op)
  }
}

function readTxn(r: Reader): TxnRequest {
  const compare = Array.from({ length: r.unsigned() }, () => readCompare(r))
  const success = Array.from({ length: r.unsigned() }, () => readOp(r))
  const failure = Array.from({ length: r.unsigned() }, () => readOp(r))
  return { compare, success, failure }
}

/** Writes a request op or command: its tag, then its fields. */
function writeOp(w: Writer, op: RequestOp | KvCommand): void {
  w.byte(TAGS.indexOf(op.type))
  switch (op.type) {
    case "Range": return writeRange(w, op.request)
    case "Put": {
      const p = op.request
      w.bytes(p.key)
      w.bytes(p.value)
      w.flags(p.prevKv, p.ignoreValue, p.ignoreLease, p.lease !== NoLease)
      if (p.lease !== NoLease) w.lease(p.lease)
      return
    }
    case "DeleteRange":
      w.bytes(op.request.key)
      w.bytes(op.request.rangeEnd)
      return w.flags(op.request.prevKv)
    case "Txn": return writeTxn(w, op.request)
    case "Compaction":
      w.signed(op.request.revision)
      return w.flags(op.request.physical)
    case "LeaseGrant":
      w.signed(op.request.ttl)
      return w.lease(op.request.id)
    case "LeaseRevoke": return w.lease(op.request.id)
  }
}

function readCommand(r: Reader): KvCommand {
  const type = TAGS[r.byte()]
  switch (type) {
    case "Range": return { type, request: readRange(r) }
    case "Put": {
      const key = r.bytes()
      const value = r.bytes()
      const flag = r.flags()
      const lease = flag(3) ? r.lease() : NoLease
      return { type, request: { key, value, lease, prevKv: flag(0), ignoreValue: flag(1), ignoreLease: flag(2) } }
    }
    case "DeleteRange": {
      const key = r.bytes()
      const rangeEnd = r.bytes()
      return { type, request: { key, rangeEnd, prevKv: r.flags()(0) } }
    }
    case "Txn": return { type, request: readTxn(r) }
    case "Compaction": {
      const revision = r.signed()
      return { type, request: { revision, physical: r.flags()(0) } }
    }
    case "LeaseGrant": {
      const ttl = r.signed()
      return { type, request: { ttl, id: r.lease() } }
    }
    case "LeaseRevoke": return { type, request: { id: r.lease() } }
    default: throw new AssertionFailure("codec: unknown command tag")
  }
}

function readOp(r: Reader): RequestOp {
  const command = readCommand(r)
  assert(command.type === "Range" || command.type === "Put" || command.type === "DeleteRange" ||
    command.type === "Txn", "codec: a txn holds an op that is not Range, Put, DeleteRange or Txn")
  return command
}

/**
 * Encodes `command` after `prefixBytes` zero bytes the caller fills in (so an envelope costs no
 * second copy). The buffer starts at the size a Put needs, so a put encodes without regrowing.
 * The result is a view of that buffer, which may be a little longer (callers keeping it copy it).
 */
export function encodeCommand(command: KvCommand, prefixBytes = 0): Uint8Array {
  const estimate = command.type === "Put" ? 32 + command.request.key.length + command.request.value.length : 64
  const w = new Writer(prefixBytes + estimate, prefixBytes)
  w.byte(FORMAT)
  writeOp(w, command)
  return w.finish()
}

export function decodeCommand(data: Uint8Array): KvCommand {
  const r = new Reader(data)
  assert(r.byte() === FORMAT, "codec: unknown command format")
  const command = readCommand(r)
  r.done()
  return command
}
