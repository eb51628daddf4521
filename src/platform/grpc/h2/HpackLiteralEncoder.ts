// Writes a header list as HPACK literals that touch no dynamic table: "without indexing" (or
// "never indexed" where the sender said so), names and values as raw octets. The receiver's
// table is left exactly as it was, whatever it holds.
import type { DecodedField } from "./HpackDecoder.ts"

function integerBytes(value: number, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1
  if (value < mask) return 1
  let bytes = 2
  for (let rest = value - mask; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++
  return bytes
}

function writeInteger(out: Buffer, at: number, value: number, prefixBits: number, pattern: number): number {
  const mask = (1 << prefixBits) - 1
  if (value < mask) {
    out[at] = pattern | value
    return at + 1
  }
  out[at++] = pattern | mask
  let rest = value - mask
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80
    rest = Math.floor(rest / 0x80)
  }
  out[at++] = rest
  return at
}

const WITHOUT_INDEXING_NEW_NAME = 0x00
const NEVER_INDEXED_NEW_NAME = 0x10

export function encodeLiteralBlock(fields: ReadonlyArray<DecodedField>): Buffer {
  let total = 0
  for (const { name, value } of fields) {
    total += 1 + integerBytes(name.length, 7) + name.length + integerBytes(value.length, 7) + value.length
  }
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const { name, value, neverIndexed } of fields) {
    out[at++] = neverIndexed ? NEVER_INDEXED_NEW_NAME : WITHOUT_INDEXING_NEW_NAME
    at = writeInteger(out, at, name.length, 7, 0) // high bit clear: not Huffman-coded
    at += out.write(name, at, "latin1")
    at = writeInteger(out, at, value.length, 7, 0)
    at += out.write(value, at, "latin1")
  }
  return out
}
