// The etcdserverpb requests the load generator sends, encoded once, and the few response fields it
// checks. Field numbers are those of etcd's rpc.proto. Requests that differ per call (a key
// number, a counter) are encoded with a marker in place of the varying bytes; the marker's offset
// is found once and patched per call, so a call costs a buffer copy and a few byte writes.
import { assert } from "../../src/assert.ts"
import { ProtoReader, ProtoWriter, WireType, encodeMessage } from "../../src/platform/grpc/Wire.ts"

export const KEY_BYTES = 8
export const VALUE_BYTES = 256
/** Width of the decimal counter patched into keys ("k" + 7 digits) and CAS values. */
export const KEY_DIGITS = KEY_BYTES - 1
export const COUNTER_DIGITS = 8

export const Method = {
  put: "/etcdserverpb.KV/Put",
  range: "/etcdserverpb.KV/Range",
  txn: "/etcdserverpb.KV/Txn",
  watch: "/etcdserverpb.Watch/Watch",
} as const

const ascii = (text: string): Uint8Array => Buffer.from(text, "latin1")

/** A 256-byte value starting with `head`, padded with a fixed filler. */
export function valueWith(head: string): Uint8Array {
  const value = Buffer.alloc(VALUE_BYTES, "v".charCodeAt(0))
  value.write(head, 0, "latin1")
  return value
}

export const keyAt = (index: number): string => `k${String(index).padStart(KEY_DIGITS, "0")}`

/** Writes `number` as `digits` decimal digits at `offset` (no string allocated). */
export function writeDigits(target: Buffer, offset: number, digits: number, number: number): void {
  for (let at = offset + digits - 1; at >= offset; at--) {
    target[at] = 48 + (number % 10)
    number = Math.floor(number / 10)
  }
}

/** The offset of a marker in an encoded message; it must occur exactly once. */
export function markerOffset(message: Uint8Array, marker: string): number {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.length)
  const at = bytes.indexOf(marker, 0, "latin1")
  assert(at >= 0 && bytes.indexOf(marker, at + 1, "latin1") < 0, `marker ${marker} occurs once`)
  return at
}

export function putRequest(key: string, value: Uint8Array): Uint8Array {
  return encodeMessage((w) => {
    w.bytes(1, ascii(key))
    w.bytes(2, value)
  })
}

export function rangeRequest(key: string, serializable: boolean, countOnly = false): Uint8Array {
  return encodeMessage((w) => {
    w.bytes(1, ascii(key))
    if (countOnly) w.bytes(2, ascii("\0")) // range_end "\0": every key from `key` on
    w.bool(7, serializable)
    w.bool(9, countOnly)
  })
}

/**
 * Compare-and-swap: if value(key) == expected then put(key, replacement) else range(key).
 * Compare: result=1 (EQUAL=0), target=2 (VALUE=3), key=3, value=7. RequestOp: range=1, put=2.
 */
export function casRequest(key: string, expected: Uint8Array, replacement: Uint8Array): Uint8Array {
  return encodeMessage((w) => {
    w.fork(1)
    w.uint(2, 3)
    w.bytes(3, ascii(key))
    w.bytes(7, expected)
    w.join()
    w.fork(2)
    w.fork(2)
    w.bytes(1, ascii(key))
    w.bytes(2, replacement)
    w.join()
    w.join()
    w.fork(3)
    w.fork(1)
    w.bytes(1, ascii(key))
    w.join()
    w.join()
  })
}

/** WatchRequest { create_request { key } }. */
export function watchCreateRequest(key: string): Uint8Array {
  const w = new ProtoWriter()
  w.fork(1)
  w.bytes(1, ascii(key))
  w.join()
  return w.finish()
}

/** The varint value of top-level field `field` in a message (0 when absent: proto3 default). */
export function varintField(bytes: Buffer, start: number, end: number, field: number): number {
  const reader = new ProtoReader(bytes, start, end)
  let value = 0
  while (!reader.done) {
    const tag = reader.tag()
    if (tag === ((field << 3) | WireType.VARINT)) value = reader.int64()
    else reader.skip(tag & 7)
  }
  return value
}

/** How many times top-level length-delimited field `field` occurs (e.g. a WatchResponse's events). */
export function countLenField(bytes: Buffer, start: number, end: number, field: number): number {
  const reader = new ProtoReader(bytes, start, end)
  let count = 0
  while (!reader.done) {
    const tag = reader.tag()
    if (tag === ((field << 3) | WireType.LEN)) count++
    reader.skip(tag & 7)
  }
  return count
}

export const RangeResponseField = { count: 4 } as const
export const TxnResponseField = { succeeded: 2 } as const
export const WatchResponseField = { created: 3, canceled: 4, events: 11 } as const
