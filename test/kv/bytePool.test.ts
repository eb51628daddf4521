// BytePool hands out zeroed, 8-byte-aligned arrays that never overlap, large ones on their own.
import { describe, expect, it } from "vitest"
import { BytePool } from "../../src/kv/BytePool.ts"

describe("BytePool", () => {
  it("hands out zeroed, aligned, disjoint arrays of the asked size", () => {
    const pool = new BytePool()
    const arrays = Array.from({ length: 2000 }, (_, i) => pool.allocate((i * 37) % 300))
    arrays.forEach((array, i) => {
      expect(array.length).toBe((i * 37) % 300)
      expect(array.byteOffset % 8).toBe(0)
      expect(array.every((byte) => byte === 0)).toBe(true)
      array.fill(i % 251) // a write to one array must not show in any other
    })
    arrays.forEach((array, i) => expect(array.every((byte) => byte === i % 251)).toBe(true))
  })

  it("gives an array larger than 4 KiB a buffer of its own", () => {
    const pool = new BytePool()
    const large = pool.allocate(5000)
    expect(large.byteOffset).toBe(0)
    expect(large.buffer.byteLength).toBe(5000)
    expect(pool.allocate(10).buffer).not.toBe(large.buffer)
  })
})
