// An HPACK decoder (RFC 7541) that mirrors one sender's dynamic table: every header block the
// sender emits on a connection must pass through decode(), in order, or the tables drift apart.
import { assert } from "../../../assert.ts"
import { HpackError } from "./HpackError.ts"
import { huffmanDecode } from "./Huffman.ts"
import { type HeaderField, STATIC_TABLE, STATIC_TABLE_LENGTH } from "./StaticTable.ts"

export interface DecodedField extends HeaderField {
  /** Sent as "never indexed" (section 6.2.3): intermediaries must keep it that way. */
  readonly neverIndexed: boolean
}

/** Bytes an entry counts for in the table (section 4.1). */
const ENTRY_OVERHEAD_BYTES = 32
/** The table size both ends start with (SETTINGS_HEADER_TABLE_SIZE's default). */
export const DEFAULT_TABLE_SIZE_BYTES = 4096
/** An integer continuing past this many bits is refused (no field or table is that large). */
const INTEGER_SHIFT_MAX = 28

interface Entry extends HeaderField {
  readonly sizeBytes: number
}

export class HpackDecoder {
  /** Oldest first; entries before `oldest` are evicted and wait for compaction. */
  private entries: Array<Entry> = []
  private oldest = 0
  private sizeBytes = 0
  private tableSizeMaxBytes = DEFAULT_TABLE_SIZE_BYTES
  private readonly tableSizeLimitBytes: number
  // Cursor into the block being decoded.
  private block: Buffer = Buffer.alloc(0)
  private at = 0

  /** `tableSizeLimitBytes`: the largest table size update the sender may ask for. */
  constructor(tableSizeLimitBytes = 65536) {
    assert(tableSizeLimitBytes >= DEFAULT_TABLE_SIZE_BYTES, "HpackDecoder: limit under the protocol default")
    this.tableSizeLimitBytes = tableSizeLimitBytes
  }

  /** The dynamic table, newest first (index 62 first), for tests. */
  get dynamicTable(): ReadonlyArray<HeaderField> {
    return this.entries.slice(this.oldest).reverse().map(({ name, value }) => ({ name, value }))
  }

  get dynamicTableSizeBytes(): number {
    return this.sizeBytes
  }

  /** Decodes one complete header block. Throws HpackError; the decoder is then unusable. */
  decode(block: Uint8Array): Array<DecodedField> {
    this.block = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.length)
    this.at = 0
    const fields: Array<DecodedField> = []
    while (this.at < block.length) {
      const first = block[this.at]!
      if (first & 0x80) {
        fields.push({ ...this.fieldAt(this.integer(7)), neverIndexed: false })
      } else if (first & 0x40) {
        const field = this.literal(6, false)
        this.insert(field)
        fields.push(field)
      } else if (first & 0x20) {
        if (fields.length > 0) throw new HpackError("dynamic table size update after a header field")
        this.resize(this.integer(5))
      } else {
        fields.push(this.literal(4, (first & 0x10) !== 0))
      }
    }
    this.block = Buffer.alloc(0)
    return fields
  }

  private literal(prefixBits: number, neverIndexed: boolean): DecodedField {
    const nameIndex = this.integer(prefixBits)
    const name = nameIndex === 0 ? this.string() : this.fieldAt(nameIndex).name
    return { name, value: this.string(), neverIndexed }
  }

  private fieldAt(index: number): HeaderField {
    if (index === 0) throw new HpackError("header field index 0")
    if (index <= STATIC_TABLE_LENGTH) return STATIC_TABLE[index - 1]!
    const at = this.entries.length - (index - STATIC_TABLE_LENGTH)
    if (at < this.oldest) throw new HpackError(`header field index ${index} beyond the dynamic table`)
    return this.entries[at]!
  }

  private integer(prefixBits: number): number {
    const mask = (1 << prefixBits) - 1
    let value = this.block[this.at++]! & mask
    if (value < mask) return value
    for (let shift = 0; ; shift += 7) {
      if (shift > INTEGER_SHIFT_MAX) throw new HpackError("integer too large")
      if (this.at >= this.block.length) throw new HpackError("integer truncated")
      const byte = this.block[this.at++]!
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
    }
  }

  private string(): string {
    if (this.at >= this.block.length) throw new HpackError("string truncated")
    const huffman = (this.block[this.at]! & 0x80) !== 0
    const length = this.integer(7)
    const start = this.at
    const end = start + length
    if (end > this.block.length) throw new HpackError("string truncated")
    this.at = end
    if (huffman) return huffmanDecode(this.block, start, end)
    return this.block.toString("latin1", start, end)
  }

  private insert(field: HeaderField): void {
    const sizeBytes = field.name.length + field.value.length + ENTRY_OVERHEAD_BYTES
    this.evictUntilFree(sizeBytes)
    // An entry larger than the whole table empties it and is not added (section 4.4).
    if (sizeBytes > this.tableSizeMaxBytes) return
    this.entries.push({ name: field.name, value: field.value, sizeBytes })
    this.sizeBytes += sizeBytes
    assert(this.sizeBytes <= this.tableSizeMaxBytes, "HpackDecoder: table over its size")
  }

  private resize(tableSizeMaxBytes: number): void {
    if (tableSizeMaxBytes > this.tableSizeLimitBytes) {
      throw new HpackError(`dynamic table size ${tableSizeMaxBytes} over the limit ${this.tableSizeLimitBytes}`)
    }
    this.tableSizeMaxBytes = tableSizeMaxBytes
    this.evictUntilFree(0)
  }

  private evictUntilFree(neededBytes: number): void {
    while (this.sizeBytes + neededBytes > this.tableSizeMaxBytes && this.oldest < this.entries.length) {
      this.sizeBytes -= this.entries[this.oldest]!.sizeBytes
      this.oldest++
    }
    if (this.oldest === this.entries.length) this.sizeBytes = 0
    assert(this.sizeBytes >= 0, "HpackDecoder: negative table size")
    // Compact now and then, so that eviction stays O(1) amortized.
    if (this.oldest > 64 && this.oldest * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.oldest)
      this.oldest = 0
    }
  }
}
