// The key index's B+tree against a sorted array, at sizes that split branches as well as leaves,
// for ascending loads (the packed split), descending and shuffled ones, with deletions.
import { describe, expect, it } from "vitest"
import { OrderedKeyMap } from "../../src/kv/OrderedKeyMap.ts"

/** A seeded shuffle (mulberry32), so a failure is reproducible. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), state | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  const copy = items.slice()
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy
}

const N = 20_000
const keyOf = (i: number) => `k${String(i * 3).padStart(6, "0")}`

function entriesFrom(map: OrderedKeyMap<number>, start: string, count: number): Array<[string, number]> {
  const seen: Array<[string, number]> = []
  map.forEachFrom(start, (key, value) => {
    seen.push([key, value])
    return seen.length < count
  })
  return seen
}

describe("OrderedKeyMap", () => {
  for (const [order, keys] of [
    ["ascending", Array.from({ length: N }, (_, i) => keyOf(i))],
    ["descending", Array.from({ length: N }, (_, i) => keyOf(N - 1 - i))],
    ["shuffled", shuffled(Array.from({ length: N }, (_, i) => keyOf(i)), 99)],
  ] as const) {
    it(`agrees with a sorted array for ${N} keys inserted ${order}, then deleted in part`, () => {
      const map = new OrderedKeyMap<number>()
      for (const key of keys) expect(map.set(key, key.length)).toBeUndefined()
      expect(map.set(keys[0]!, 7)).toBe(keys[0]!.length) // a replace returns the old value
      const model = new Map(keys.map((key) => [key, key === keys[0] ? 7 : key.length]))
      const check = () => {
        const sorted = [...model.keys()].sort()
        expect(map.size).toBe(sorted.length)
        const all: string[] = []
        map.forEach((key) => (all.push(key), true))
        expect(all).toEqual(sorted)
        for (let probe = 0; probe < 200; probe++) {
          const start = `k${String(probe * 301).padStart(6, "0")}` // between and on keys
          const from = sorted.findIndex((key) => key >= start)
          const want = (from === -1 ? [] : sorted.slice(from, from + 5)).map((key) => [key, model.get(key)])
          expect(entriesFrom(map, start, 5)).toEqual(want)
          expect(map.get(start)).toBe(model.get(start))
        }
      }
      check()
      for (const key of shuffled(keys, 7).slice(0, N * 0.9)) {
        expect(map.delete(key)).toBe(true)
        model.delete(key)
      }
      expect(map.delete("absent")).toBe(false)
      check()
      map.updateValues((value) => value + 1)
      for (const [key, value] of model) model.set(key, value + 1)
      check()
    })
  }
})
