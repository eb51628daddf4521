// Framing: frames cut into arbitrary pieces come out whole and in order; a flipped bit, an
// oversized length and an unknown type are refused as PeerProtocolErrors.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ByteWriter } from "../../../src/platform/transport/ByteWriter.ts"
import { beginFrame, endFrame, frameHeader, frameHeaderBytes, type FrameType } from "../../../src/platform/transport/Frame.ts"
import { FrameDecoder } from "../../../src/platform/transport/FrameDecoder.ts"
import { PeerProtocolError } from "../../../src/platform/transport/ProtocolError.ts"

interface Frame {
  readonly type: FrameType
  readonly payload: Uint8Array
}

const arbitraryFrame: fc.Arbitrary<Frame> = fc.record({
  type: fc.integer({ min: 1, max: 9 }).map((t) => t as FrameType),
  payload: fc.uint8Array({ maxLength: 300 }),
})

function encodeFrames(frames: ReadonlyArray<Frame>): Buffer {
  const w = new ByteWriter(16)
  for (const f of frames) {
    const start = beginFrame(w, f.type)
    w.raw(f.payload)
    expect(endFrame(w, start)).toBe(f.payload.length)
  }
  return w.take()
}

function decodeAll(pieces: ReadonlyArray<Buffer>, payloadBytesMax = 1 << 20): Frame[] {
  const decoder = new FrameDecoder(payloadBytesMax)
  const out: Frame[] = []
  for (const piece of pieces) decoder.push(piece, (type, payload) => out.push({ type, payload: new Uint8Array(payload) }))
  return out
}

/** Cuts `bytes` at the given fractions of its length. */
function cut(bytes: Buffer, fractions: ReadonlyArray<number>): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b)
  const pieces: Buffer[] = []
  let from = 0
  for (const p of [...points, bytes.length]) {
    if (p > from) pieces.push(bytes.subarray(from, p))
    from = Math.max(from, p)
  }
  return pieces
}

function protocolError(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(PeerProtocolError)
    return (error as Error).message
  }
  throw new Error("expected a PeerProtocolError")
}

describe("frames", () => {
  it("come out whole and in order however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryFrame, { maxLength: 12 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }),
        (frames, fractions) => {
          const expected = frames.map((f) => ({ type: f.type, payload: new Uint8Array(f.payload) }))
          expect(decodeAll(cut(encodeFrames(frames), fractions))).toStrictEqual(expected)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it("also byte by byte", () => {
    const frames: Frame[] = [{ type: 4, payload: Uint8Array.of(1, 2, 3) }, { type: 6, payload: new Uint8Array(0) }]
    const bytes = encodeFrames(frames)
    const pieces = Array.from({ length: bytes.length }, (_, k) => bytes.subarray(k, k + 1))
    expect(decodeAll(pieces)).toStrictEqual(frames.map((f) => ({ type: f.type, payload: new Uint8Array(f.payload) })))
  })

  it("a header written apart from its payload matches one written with it", () => {
    fc.assert(
      fc.property(arbitraryFrame, (f) => {
        expect(Buffer.concat([frameHeader(f.type, f.payload), f.payload])).toStrictEqual(encodeFrames([f]))
      }),
    )
  })

  it("refuses any single flipped bit (in the checksum's reach)", () => {
    fc.assert(
      fc.property(arbitraryFrame, fc.nat(), fc.nat({ max: 7 }), (f, at, bit) => {
        const bytes = encodeFrames([f])
        const flipAt = 4 + (at % (bytes.length - 4)) // the type, checksum or payload
        bytes[flipAt]! ^= 1 << bit
        protocolError(() => decodeAll([bytes]))
      }),
      { numRuns: 2000 },
    )
  })

  it("refuses an oversized frame from its header alone, before the payload arrives", () => {
    const header = frameHeader(4, new Uint8Array(0))
    header.writeUInt32LE(1001, 0)
    expect(protocolError(() => decodeAll([header], 1000))).toBe("frame of 1001 bytes exceeds the maximum of 1000")
    // Also when the header itself arrives in pieces.
    expect(protocolError(() => decodeAll([header.subarray(0, 3), header.subarray(3)], 1000))).toMatch(/exceeds the maximum/)
  })

  it("refuses an unknown frame type and names it", () => {
    const bytes = encodeFrames([{ type: 4, payload: Uint8Array.of(9) }])
    bytes[4] = 200
    expect(protocolError(() => decodeAll([bytes]))).toBe("unknown frame type 200")
  })
})
