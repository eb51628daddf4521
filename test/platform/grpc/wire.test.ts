// The wire primitives against their definition: every value written reads back the same, and
// the bytes agree with protobufjs (an independent implementation) for the same fields.
import fc from "fast-check"
import protobuf from "protobufjs"
import { describe, expect, it } from "vitest"
import { ProtoReader, ProtoWriter } from "../../../src/platform/grpc/Wire.ts"

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
const safe = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER })

describe("Wire", () => {
  it("round-trips int64 (bigint and safe number), bools, bytes and nested messages", () => {
    fc.assert(
      fc.property(int64, safe, fc.uint8Array({ maxLength: 300 }), fc.boolean(), (big, small, bytes, flag) => {
        const w = new ProtoWriter(4) // tiny, so growth is exercised
        w.int64Big(1, big)
        w.fork(2)
        w.int64(1, small)
        w.bytes(2, bytes)
        w.join()
        w.bool(3, flag)
        const r = new ProtoReader(w.finish())
        let readBig = 0n, readSmall = 0, readBytes: Uint8Array = new Uint8Array(), readFlag = false
        while (!r.done) {
          const tag = r.tag()
          if (tag >>> 3 === 1) readBig = r.int64Big()
          else if (tag >>> 3 === 3) readFlag = r.bool()
          else {
            const n = r.nested()
            while (!n.done) {
              const t = n.tag()
              if (t >>> 3 === 1) readSmall = n.int64()
              else readBytes = n.bytesField()
            }
          }
        }
        expect(readBig).toBe(big)
        expect(readSmall).toBe(small)
        expect(Buffer.from(readBytes).equals(Buffer.from(bytes))).toBe(true)
        expect(readFlag).toBe(flag)
      }),
      { numRuns: 2000 },
    )
  })

  it("writes the same bytes as protobufjs", () => {
    const root = protobuf.Root.fromJSON({
      nested: {
        M: {
          fields: {
            a: { type: "int64", id: 1 },
            n: { type: "N", id: 2 },
          },
        },
        N: { fields: { b: { type: "bytes", id: 1 }, c: { type: "uint64", id: 2 } } },
      },
    })
    const M = root.lookupType("M")
    fc.assert(
      fc.property(safe, fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (a, b, c) => {
        const w = new ProtoWriter()
        w.int64(1, a)
        w.fork(2)
        w.bytes(1, b)
        w.uint(2, c)
        w.join()
        // The reference is a proto2-style root, so zeros are written only when set: leave them unset.
        const object = { ...(a !== 0 && { a: String(a) }), n: { b, ...(c !== 0 && { c: String(c) }) } }
        const reference = M.encode(M.fromObject(object)).finish()
        expect(Buffer.from(w.finish()).toString("hex")).toBe(Buffer.from(reference).toString("hex"))
      }),
      { numRuns: 1000 },
    )
  })

  it("refuses truncated and overlong input with gRPC's unmarshalling error", () => {
    expect(() => new ProtoReader(Uint8Array.of(0x0a, 0x05, 1, 2)).nested()).toThrow(/error unmarshalling request/)
    expect(() => new ProtoReader(Uint8Array.of(0x80, 0x80)).uint32()).toThrow(/truncated varint/)
    expect(() => new ProtoReader(new Uint8Array(11).fill(0x80)).int64Big()).toThrow(/longer than 10 bytes/)
  })
})
