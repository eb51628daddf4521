import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { crc32c, crc32cBytewise } from "../../src/platform/wal/Crc32c.ts"

describe("crc32c", () => {
  it("matches the published CRC-32C check values", () => {
    const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa) // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43) // 32 bytes of 0xff
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e) // incrementing
    expect(crc32c(new Uint8Array())).toBe(0)
  })

  it("slicing-by-8 agrees with the byte loop on any range and when continued", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1)
      const end = start + (b % (bytes.length - start + 1))
      const whole = crc32cBytewise(bytes.subarray(start, end))
      expect(crc32c(bytes, 0, start, end)).toBe(whole)
      const middle = start + ((end - start) >> 1)
      expect(crc32c(bytes, crc32c(bytes, 0, start, middle), middle, end)).toBe(whole)
    }))
  })
})
