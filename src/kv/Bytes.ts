// Byte-string helpers. Keys and values are Uint8Array compared bytewise, like Go's bytes.Compare.
import type { Bytes } from "./Api.ts"

export const EMPTY_BYTES: Bytes = new Uint8Array(0)

export function compareBytes(a: Bytes, b: Bytes): number {
  const length = a.length < b.length ? a.length : b.length
  for (let i = 0; i < length; i++) {
    const difference = a[i]! - b[i]!
    if (difference !== 0) return difference < 0 ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

export function bytesEqual(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** etcd's mkGteRange: a range end of exactly "\0" means "every key >= key". */
export function isGteRangeEnd(rangeEnd: Bytes): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === 0
}

/**
 * Whether `key` lies in the request's span: a single key when `rangeEnd` is empty, every key from
 * `start` on when it is "\0", else [start, rangeEnd).
 */
export function inSpan(key: Bytes, start: Bytes, rangeEnd: Bytes): boolean {
  if (rangeEnd.length === 0) return bytesEqual(key, start)
  if (compareBytes(key, start) < 0) return false
  return isGteRangeEnd(rangeEnd) || compareBytes(key, rangeEnd) < 0
}

/**
 * The store's form of a key: a string with one char per byte (0-255). Strings compare by UTF-16
 * code unit, which for such strings is bytewise, shorter first: exactly bytes.Compare. A short
 * string costs about 24 bytes, a Uint8Array view about 100, and comparing strings is native.
 */
export function keyString(bytes: Bytes): string {
  const length = bytes.length
  if (length <= 12) {
    // Short concatenations give flat strings; longer ones would build rope nodes.
    let text = ""
    for (let i = 0; i < length; i++) text += String.fromCharCode(bytes[i]!)
    return text
  }
  let text = ""
  for (let start = 0; start < length; start += 8192) {
    text += String.fromCharCode.apply(null, bytes.subarray(start, Math.min(length, start + 8192)) as unknown as number[])
  }
  return text
}

/** The bytes of a key string (a fresh array the caller owns). */
export function keyBytes(key: string): Bytes {
  const bytes = new Uint8Array(key.length)
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i)
  return bytes
}
