// The HPACK decoder of the HTTP/2 server: RFC 7541 Appendix C's examples (fields and
// dynamic table after each block), Huffman edge cases, malformed blocks, and the literal encoder
// read back by the decoder without touching its table.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { HpackDecoder } from "../../../src/platform/grpc/h2/HpackDecoder.ts"
import { HpackError } from "../../../src/platform/grpc/h2/HpackError.ts"
import { encodeLiteralBlock } from "../../../src/platform/grpc/h2/HpackLiteralEncoder.ts"
import { huffmanDecode } from "../../../src/platform/grpc/h2/Huffman.ts"
import { HUFFMAN_CODE_BITS } from "../../../src/platform/grpc/h2/HuffmanCode.ts"

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex")
const pairs = (fields: ReadonlyArray<{ name: string; value: string }>) => fields.map(({ name, value }) => [name, value])

/** A size update to 256 bytes, the table size Appendix C.5 and C.6 assume. */
const RESIZE_TO_256 = "3fe101"

interface Step {
  readonly block: string
  readonly fields: ReadonlyArray<readonly [string, string]>
  /** Newest first, and the table's size in bytes. */
  readonly table: ReadonlyArray<readonly [string, string]>
  readonly sizeBytes: number
}

function decodeSeries(steps: ReadonlyArray<Step>): void {
  const decoder = new HpackDecoder()
  for (const step of steps) {
    expect(pairs(decoder.decode(hex(step.block)))).toEqual(step.fields)
    expect(pairs(decoder.dynamicTable)).toEqual(step.table)
    expect(decoder.dynamicTableSizeBytes).toBe(step.sizeBytes)
  }
}

const request1 = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]] as const
const request2 = [...request1, ["cache-control", "no-cache"]] as const
const request3 = [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"]] as const
const requestTables = [
  [[":authority", "www.example.com"]],
  [["cache-control", "no-cache"], [":authority", "www.example.com"]],
  [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
] as const

const date21 = "Mon, 21 Oct 2013 20:13:21 GMT"
const date22 = "Mon, 21 Oct 2013 20:13:22 GMT"
const location = "https://www.example.com"
const cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
const response1 = [[":status", "302"], ["cache-control", "private"], ["date", date21], ["location", location]] as const
const response2 = [[":status", "307"], ["cache-control", "private"], ["date", date21], ["location", location]] as const
const response3 = [[":status", "200"], ["cache-control", "private"], ["date", date22], ["location", location], ["content-encoding", "gzip"], ["set-cookie", cookie]] as const
const responseTables = [
  [["location", location], ["date", date21], ["cache-control", "private"], [":status", "302"]],
  [[":status", "307"], ["location", location], ["date", date21], ["cache-control", "private"]],
  [["set-cookie", cookie], ["content-encoding", "gzip"], ["date", date22]],
] as const

describe("HPACK decoder: RFC 7541 Appendix C", () => {
  it("C.2: one representation of each kind", () => {
    decodeSeries([{ block: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", fields: [["custom-key", "custom-header"]], table: [["custom-key", "custom-header"]], sizeBytes: 55 }])
    decodeSeries([{ block: "040c 2f73 616d 706c 652f 7061 7468", fields: [[":path", "/sample/path"]], table: [], sizeBytes: 0 }])
    decodeSeries([{ block: "1008 7061 7373 776f 7264 0673 6563 7265 74", fields: [["password", "secret"]], table: [], sizeBytes: 0 }])
    decodeSeries([{ block: "82", fields: [[":method", "GET"]], table: [], sizeBytes: 0 }])
    expect(new HpackDecoder().decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))[0]?.neverIndexed).toBe(true)
  })

  it("C.3: requests without Huffman coding", () => {
    decodeSeries([
      { block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", fields: request1, table: requestTables[0], sizeBytes: 57 },
      { block: "8286 84be 5808 6e6f 2d63 6163 6865", fields: request2, table: requestTables[1], sizeBytes: 110 },
      { block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", fields: request3, table: requestTables[2], sizeBytes: 164 },
    ])
  })

  it("C.4: requests with Huffman coding", () => {
    decodeSeries([
      { block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", fields: request1, table: requestTables[0], sizeBytes: 57 },
      { block: "8286 84be 5886 a8eb 1064 9cbf", fields: request2, table: requestTables[1], sizeBytes: 110 },
      { block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", fields: request3, table: requestTables[2], sizeBytes: 164 },
    ])
  })

  it("C.5: responses without Huffman coding, with eviction from a 256-byte table", () => {
    decodeSeries([
      { block: RESIZE_TO_256 + "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", fields: response1, table: responseTables[0], sizeBytes: 222 },
      { block: "4803 3330 37c1 c0bf", fields: response2, table: responseTables[1], sizeBytes: 222 },
      { block: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31", fields: response3, table: responseTables[2], sizeBytes: 215 },
    ])
  })

  it("C.6: responses with Huffman coding, with eviction from a 256-byte table", () => {
    decodeSeries([
      { block: RESIZE_TO_256 + "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3", fields: response1, table: responseTables[0], sizeBytes: 222 },
      { block: "4883 640e ffc1 c0bf", fields: response2, table: responseTables[1], sizeBytes: 222 },
      { block: "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07", fields: response3, table: responseTables[2], sizeBytes: 215 },
    ])
  })
})

/** A Huffman encoder from the code table, written here only to feed the decoder. */
function huffmanEncode(bytes: Uint8Array): Buffer {
  const out: Array<number> = []
  let pending = 0n
  let pendingBits = 0n
  for (const byte of bytes) {
    pending = (pending << BigInt(HUFFMAN_CODE_BITS[2 * byte + 1]!)) | BigInt(HUFFMAN_CODE_BITS[2 * byte]!)
    pendingBits += BigInt(HUFFMAN_CODE_BITS[2 * byte + 1]!)
    while (pendingBits >= 8n) {
      pendingBits -= 8n
      out.push(Number((pending >> pendingBits) & 0xffn))
    }
  }
  if (pendingBits > 0n) out.push(Number(((pending << (8n - pendingBits)) | ((1n << (8n - pendingBits)) - 1n)) & 0xffn))
  return Buffer.from(out)
}

describe("Huffman decoding", () => {
  it("decodes every octet string the code can encode", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const encoded = huffmanEncode(bytes)
      expect(huffmanDecode(encoded, 0, encoded.length)).toBe(Buffer.from(bytes).toString("latin1"))
    }))
  })

  it("refuses EOS in the data, padding over 7 bits, and padding that is not all ones", () => {
    expect(() => huffmanDecode(hex("ffffffff"), 0, 4)).toThrow(/EOS/) // EOS is 30 ones
    expect(() => huffmanDecode(hex("ff"), 0, 1)).toThrow(/longer than 7 bits/)
    // 'a' is 00011 (5 bits): then 000 is not a prefix of EOS.
    expect(() => huffmanDecode(hex("18"), 0, 1)).toThrow(/not a prefix of EOS/)
    expect(huffmanDecode(hex("1f"), 0, 1)).toBe("a")
  })
})

describe("malformed header blocks", () => {
  const malformed: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["index 0", "80", /index 0/],
    ["an index past both tables", "be", /beyond the dynamic table/],
    ["a literal name past the end", "400a 6375 7374", /truncated/],
    ["an integer that never ends", "ff ffffffffffffff", /too large|truncated/],
    ["an integer cut short", "ff 80", /truncated/],
    ["a size update after a field", "82 20", /size update after/],
    ["a size update over the limit", "3fe1ff07", /over the limit/],
  ]
  for (const [what, block, error] of malformed) {
    it(`refuses ${what}`, () => {
      expect(() => new HpackDecoder().decode(hex(block))).toThrow(HpackError)
      expect(() => new HpackDecoder().decode(hex(block))).toThrow(error)
    })
  }

  it("keeps entries that fill the table exactly, and evicts the oldest for one more byte", () => {
    const decoder = new HpackDecoder()
    const entryOf50Bytes = (value: string) => "4001 61 11" + Buffer.from(value.padEnd(17, ".")).toString("hex") // name "a"
    decoder.decode(hex("3f45" + entryOf50Bytes("one") + entryOf50Bytes("two"))) // table size 100
    expect(pairs(decoder.dynamicTable)).toEqual([["a", "two".padEnd(17, ".")], ["a", "one".padEnd(17, ".")]])
    expect(decoder.dynamicTableSizeBytes).toBe(100)
    decoder.decode(hex("4001 61 12" + Buffer.from("three".padEnd(18, ".")).toString("hex")))
    expect(pairs(decoder.dynamicTable)).toEqual([["a", "three".padEnd(18, ".")]])
  })

  it("empties the table for an entry larger than it, and on a size update to 0", () => {
    const decoder = new HpackDecoder()
    decoder.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"))
    expect(decoder.dynamicTable).toHaveLength(1)
    decoder.decode(hex("20"))
    expect(decoder.dynamicTable).toHaveLength(0)
    expect(decoder.dynamicTableSizeBytes).toBe(0)
    expect(() => decoder.decode(hex("be"))).toThrow(/beyond/)
  })
})

describe("literal re-encoding", () => {
  const field = fc.record({
    name: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 40 }),
    value: fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
    neverIndexed: fc.boolean(),
  })

  it("reads back field for field, and leaves the reader's dynamic table untouched", () => {
    fc.assert(fc.property(fc.array(field, { maxLength: 20 }), (fields) => {
      const decoder = new HpackDecoder()
      decoder.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"))
      const tableBefore = decoder.dynamicTable
      expect(decoder.decode(encodeLiteralBlock(fields))).toEqual(fields)
      expect(decoder.dynamicTable).toEqual(tableBefore)
    }))
  })
})
