// The header block rewriter under the :authority repair: untouched streams come out byte for
// byte however they are chunked; a repaired connection re-encodes every later block, with the
// client's dynamic-table references resolved; frame flags, priority and padding; bad framing.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { authorityRepair, repairedAuthority } from "../../../src/platform/grpc/AuthorityRepair.ts"
import { HpackDecoder } from "../../../src/platform/grpc/h2/HpackDecoder.ts"
import { HpackError } from "../../../src/platform/grpc/h2/HpackError.ts"
import { CONNECTION_PREFACE, FrameFlag, FrameType } from "../../../src/platform/grpc/h2/Frame.ts"
import { FrameError, HeaderBlockRewriter } from "../../../src/platform/grpc/h2/HeaderBlockRewriter.ts"

const { HEADERS, CONTINUATION } = FrameType
const { END_STREAM, END_HEADERS, PADDED, PRIORITY } = FrameFlag

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9)
  header.writeUIntBE(payload.length, 0, 3)
  header[3] = type
  header[4] = flags
  header.writeUInt32BE(stream, 5)
  return Buffer.concat([header, payload])
}

/** HPACK: a literal with incremental indexing and a new name (section 6.2.1), short strings. */
function indexedLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)])
}
const indexed = (index: number): Buffer => Buffer.from([0x80 | index])

const settings = frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(6))
const windowUpdate = frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 0x10, 0]))
const data = (stream: number): Buffer => frame(FrameType.DATA, END_STREAM, stream, Buffer.alloc(40, 7))

/** :method POST, :scheme http, :path /, then :authority (indexed into the table as entry 62). */
const firstBlock = (authority: string): Buffer => Buffer.concat([indexed(3), indexed(6), indexed(4), indexedLiteral(":authority", authority)])
/** The same request again, its :authority a reference to the client's dynamic table. */
const laterBlock = Buffer.concat([indexed(3), indexed(6), indexed(4), indexed(62)])

function rewriter(): HeaderBlockRewriter {
  return new HeaderBlockRewriter(authorityRepair, { headerBlockBytesMax: 1 << 20 })
}

/** Feeds `bytes` in the given pieces and returns everything forwarded. */
function run(target: HeaderBlockRewriter, bytes: Buffer, cuts: ReadonlyArray<number> = []): Buffer {
  const out: Array<Buffer> = []
  let start = 0
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(bytes.length)) {
    out.push(...target.push(bytes.subarray(start, cut)))
    start = cut
  }
  return Buffer.concat(out)
}

interface Frame {
  readonly type: number
  readonly flags: number
  readonly stream: number
  readonly payload: Buffer
}

function parseFrames(bytes: Buffer): Array<Frame> {
  expect(bytes.subarray(0, 24)).toEqual(CONNECTION_PREFACE)
  const frames: Array<Frame> = []
  for (let at = 24; at < bytes.length;) {
    const length = bytes.readUIntBE(at, 3)
    frames.push({ type: bytes[at + 3]!, flags: bytes[at + 4]!, stream: bytes.readUInt32BE(at + 5), payload: bytes.subarray(at + 9, at + 9 + length) })
    at += 9 + length
  }
  return frames
}

/** The header lists as the server would decode them, one decoder for the whole connection. */
function serverHeaderLists(frames: ReadonlyArray<Frame>): Array<Array<[string, string]>> {
  const decoder = new HpackDecoder()
  const lists: Array<Array<[string, string]>> = []
  let block: Array<Buffer> = []
  for (const f of frames) {
    if (f.type !== HEADERS && f.type !== CONTINUATION) continue
    expect(f.flags & PADDED).toBe(0)
    block.push(f.type === HEADERS && f.flags & PRIORITY ? f.payload.subarray(5) : f.payload)
    if (f.flags & END_HEADERS) {
      lists.push(decoder.decode(Buffer.concat(block)).map(({ name, value }) => [name, value]))
      block = []
    }
  }
  return lists
}

const cutsOf = (length: number) => fc.array(fc.integer({ min: 0, max: length }), { maxLength: 12 })

describe("authority repair", () => {
  it("keeps valid authorities and repairs URLs to their authority part", () => {
    expect(repairedAuthority("127.0.0.1:2379")).toBeUndefined()
    expect(repairedAuthority("[::1]:2379")).toBeUndefined()
    expect(repairedAuthority("http://127.0.0.1:2379")).toBe("127.0.0.1:2379")
    expect(repairedAuthority("https://localhost:2379/v3/kv?x#y")).toBe("localhost:2379")
    expect(repairedAuthority("unix://")).toBeUndefined() // nothing left to send: nghttp2 decides
    expect(repairedAuthority("a b")).toBeUndefined()
  })
})

describe("header block rewriter", () => {
  it("passes a stream with valid authorities through byte for byte, however it is chunked", () => {
    const stream = Buffer.concat([
      CONNECTION_PREFACE, settings, windowUpdate,
      frame(HEADERS, END_HEADERS, 1, firstBlock("127.0.0.1:2379")), data(1),
      frame(HEADERS, END_HEADERS | END_STREAM, 3, laterBlock),
      frame(HEADERS, PRIORITY, 5, Buffer.concat([Buffer.from([0, 0, 0, 3, 15]), laterBlock.subarray(0, 2)])),
      frame(CONTINUATION, END_HEADERS, 5, laterBlock.subarray(2)), data(5),
    ])
    fc.assert(fc.property(cutsOf(stream.length), (cuts) => {
      const target = rewriter()
      expect(run(target, stream, cuts)).toEqual(stream)
      expect(target.blockCount).toBe(3)
      expect(target.repairedBlockCount).toBe(0)
    }))
  })

  it("repairs a URL authority, then re-encodes every later block with table references resolved", () => {
    const stream = Buffer.concat([
      CONNECTION_PREFACE, settings,
      frame(HEADERS, END_HEADERS, 1, firstBlock("127.0.0.1:1")), data(1), // valid: passed through
      frame(HEADERS, END_HEADERS, 3, firstBlock("http://127.0.0.1:2379")), data(3),
      frame(HEADERS, END_HEADERS | END_STREAM, 5, laterBlock),
      frame(HEADERS, END_HEADERS, 7, Buffer.concat([indexed(3), indexed(6), indexed(4), indexed(63)])),
    ])
    const request = [[":method", "POST"], [":scheme", "http"], [":path", "/"]]
    fc.assert(fc.property(cutsOf(stream.length), (cuts) => {
      const target = rewriter()
      const frames = parseFrames(run(target, stream, cuts))
      expect(serverHeaderLists(frames)).toEqual([
        [...request, [":authority", "127.0.0.1:1"]],
        [...request, [":authority", "127.0.0.1:2379"]],
        [...request, [":authority", "127.0.0.1:2379"]],
        [...request, [":authority", "127.0.0.1:1"]],
      ])
      expect(frames.map((f) => [f.type, f.flags, f.stream])).toEqual([
        [FrameType.SETTINGS, 0, 0], [HEADERS, END_HEADERS, 1], [FrameType.DATA, END_STREAM, 1], [HEADERS, END_HEADERS, 3], [FrameType.DATA, END_STREAM, 3],
        [HEADERS, END_HEADERS | END_STREAM, 5], [HEADERS, END_HEADERS, 7],
      ])
      expect(target.repairedBlockCount).toBe(2) // the third refers to the bad entry
      expect(target.rewritesEveryBlock).toBe(true)
    }))
  })

  it("keeps END_STREAM and the priority, drops padding, and splits a large block into CONTINUATIONs", () => {
    const big = "x".repeat(40_000)
    const fields = Buffer.concat([firstBlock("http://h:1"),
      Buffer.from([0x00, 0x01, 0x62, 0x7f, ...encodeLength(big.length - 127)]), Buffer.from(big)])
    const priority = Buffer.from([0x80, 0, 0, 1, 200])
    const padding = Buffer.alloc(9)
    // Padding belongs to the HEADERS frame alone; the CONTINUATIONs carry the rest of the block.
    const stream = Buffer.concat([CONNECTION_PREFACE,
      frame(HEADERS, PADDED | PRIORITY | END_STREAM, 3, Buffer.concat([Buffer.from([padding.length]), priority, fields.subarray(0, 15000), padding])),
      frame(CONTINUATION, 0, 3, fields.subarray(15000, 30000)),
      frame(CONTINUATION, END_HEADERS, 3, fields.subarray(30000))])
    const frames = parseFrames(run(rewriter(), stream))
    expect(frames.map((f) => [f.type, f.flags, f.payload.length])).toEqual([
      [HEADERS, PRIORITY | END_STREAM, 16384], [CONTINUATION, 0, 16384], [CONTINUATION, END_HEADERS, expect.any(Number)],
    ])
    expect(frames[0]!.payload.subarray(0, 5)).toEqual(priority)
    expect(serverHeaderLists(frames)).toEqual([[[":method", "POST"], [":scheme", "http"], [":path", "/"], [":authority", "h:1"], ["b", big]]])
  })

  const refused: ReadonlyArray<readonly [string, Buffer, typeof FrameError | typeof HpackError, RegExp]> = [
    ["a CONTINUATION outside a block", frame(CONTINUATION, END_HEADERS, 1, laterBlock), FrameError, /outside a header block/],
    ["a block interrupted by DATA", Buffer.concat([frame(HEADERS, 0, 1, laterBlock), data(1)]), FrameError, /interrupted/],
    ["a CONTINUATION on another stream", Buffer.concat([frame(HEADERS, 0, 1, laterBlock), frame(CONTINUATION, END_HEADERS, 3, laterBlock)]), FrameError, /another stream/],
    ["padding longer than the frame", frame(HEADERS, END_HEADERS | PADDED, 1, Buffer.from([200, 0x82])), FrameError, /longer than the frame/],
    ["a block over the limit", Buffer.concat([frame(HEADERS, 0, 1, Buffer.alloc(16384)), frame(CONTINUATION, 0, 1, Buffer.alloc(16384)), frame(CONTINUATION, 0, 1, Buffer.alloc(16384))]), FrameError, /over 40000 bytes/],
    ["malformed HPACK", frame(HEADERS, END_HEADERS, 1, Buffer.from([0x80])), HpackError, /index 0/],
  ]
  for (const [what, bytes, kind, message] of refused) {
    it(`refuses ${what}`, () => {
      const target = new HeaderBlockRewriter(authorityRepair, { headerBlockBytesMax: 40_000 })
      expect(() => run(target, Buffer.concat([CONNECTION_PREFACE, bytes]))).toThrow(kind)
      expect(() => run(new HeaderBlockRewriter(authorityRepair, { headerBlockBytesMax: 40_000 }), Buffer.concat([CONNECTION_PREFACE, bytes]))).toThrow(message)
    })
  }
})

/** HPACK integer continuation bytes for `rest` (the part above a full prefix). */
function encodeLength(rest: number): Array<number> {
  const bytes: Array<number> = []
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80)
    rest = Math.floor(rest / 0x80)
  }
  bytes.push(rest)
  return bytes
}
