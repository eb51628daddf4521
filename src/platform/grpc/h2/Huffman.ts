// HPACK's Huffman decoder (RFC 7541 section 5.2 and Appendix B), walking a binary tree bit by
// bit: header strings are short, and a flat Int32Array keeps the walk free of allocation.
import { assert } from "../../../assert.ts"
import { HpackError } from "./HpackError.ts"
import { HUFFMAN_CODE_BITS, HUFFMAN_SYMBOL_COUNT } from "./HuffmanCode.ts"

const EOS_SYMBOL = 256
/** A complete prefix code over 257 symbols has exactly 256 inner nodes. */
const INNER_NODE_COUNT = HUFFMAN_SYMBOL_COUNT - 1

/**
 * children[2 * node + bit]: an inner node's index (> 0), or a leaf as -(symbol + 1). Node 0 is
 * the root, so 0 never names a child and marks "not built yet".
 */
const children = buildTree()

function buildTree(): Int32Array {
  const tree = new Int32Array(2 * INNER_NODE_COUNT)
  let innerNodes = 1
  for (let symbol = 0; symbol < HUFFMAN_SYMBOL_COUNT; symbol++) {
    const code = HUFFMAN_CODE_BITS[2 * symbol]!
    const bits = HUFFMAN_CODE_BITS[2 * symbol + 1]!
    let node = 0
    for (let shift = bits - 1; shift > 0; shift--) {
      const slot = 2 * node + ((code >>> shift) & 1)
      if (tree[slot] === 0) tree[slot] = innerNodes++
      node = tree[slot]!
      assert(node > 0, "Huffman tree: a code is a prefix of another")
    }
    const slot = 2 * node + (code & 1)
    assert(tree[slot] === 0, "Huffman tree: two codes collide")
    tree[slot] = -(symbol + 1)
  }
  assert(innerNodes === INNER_NODE_COUNT && !tree.includes(0, 1), "Huffman tree: the code is not complete")
  return tree
}

/** Decodes bytes[start, end) into a latin1 string (one char per octet). */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5)) // the shortest code has 5 bits
  let length = 0
  let node = 0
  let bitsSinceSymbol = 0
  let onlyOnesSinceSymbol = true
  for (let at = start; at < end; at++) {
    const byte = bytes[at]!
    for (let shift = 7; shift >= 0; shift--) {
      const bit = (byte >>> shift) & 1
      const next = children[2 * node + bit]!
      bitsSinceSymbol++
      onlyOnesSinceSymbol &&= bit === 1
      if (next > 0) {
        node = next
        continue
      }
      const symbol = -next - 1
      if (symbol === EOS_SYMBOL) throw new HpackError("Huffman string contains EOS")
      out[length++] = symbol
      node = 0
      bitsSinceSymbol = 0
      onlyOnesSinceSymbol = true
    }
  }
  // What is left must be padding: a prefix of EOS (all ones), shorter than a byte.
  if (bitsSinceSymbol > 7) throw new HpackError("Huffman padding longer than 7 bits")
  if (!onlyOnesSinceSymbol) throw new HpackError("Huffman padding is not a prefix of EOS")
  return out.toString("latin1", 0, length)
}
