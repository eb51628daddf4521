// BytesArena: copies that share chunks without overlapping, and large byte strings on their own.
import { describe, expect, it } from "vitest"
import { BytesArena } from "../../src/platform/BytesArena.ts"

describe("BytesArena", () => {
  it("copies: equal bytes, independent of the source, never overlapping one another", () => {
    const arena = new BytesArena()
    const sources = Array.from({ length: 2000 }, (_, i) => Uint8Array.from({ length: (i * 7) % 300 }, (_, k) => (i + k) & 0xff))
    const copies = sources.map((s) => arena.copy(s))
    for (const s of sources) s.fill(0xee)
    copies.forEach((copy, i) => {
      expect(copy).toEqual(Uint8Array.from({ length: (i * 7) % 300 }, (_, k) => (i + k) & 0xff))
    })
    // Small copies share chunks: far fewer buffers than copies.
    expect(new Set(copies.map((c) => c.buffer)).size).toBeLessThan(copies.length / 50)
  })

  it("gives a byte string longer than 4 KiB a buffer of its own", () => {
    const arena = new BytesArena()
    arena.copy(new Uint8Array(10))
    const large = arena.copy(new Uint8Array(5000).fill(3))
    expect(large.byteOffset).toBe(0)
    expect(large.buffer.byteLength).toBe(5000)
    expect(large.every((b) => b === 3)).toBe(true)
  })
})
