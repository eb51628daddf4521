// HashKV: CRC-32C itself, the protobuf bytes it covers, and that it follows history and compaction.
import { describe, expect, it } from "vitest"
import { apply, crc32c, hashKV, newStore, KvErrors } from "../../src/kv/index.ts"
import { marshalKeyValue } from "../../src/kv/Hash.ts"
import { b, put, del } from "./helpers.ts"

const hashOf = (result: ReturnType<typeof hashKV>): number => {
  if (result.type === "Error") expect.fail(result.error.message)
  return result.response.hash
}

describe("hashKV", () => {
  it("uses CRC-32C (the check value of \"123456789\" is 0xe3069283)", () => {
    expect(crc32c(0, b("123456789"))).toBe(0xe3069283)
    expect(crc32c(crc32c(0, b("1234")), b("56789"))).toBe(0xe3069283)
  })

  it("marshals KeyValue as protobuf with zero fields left out", () => {
    const record = { main: 300, sub: 0, key: b("k"), value: b("v"), createRevision: 2, version: 1, lease: 0n, tombstone: false }
    expect([...marshalKeyValue(record)]).toEqual([0x0a, 1, 0x6b, 0x10, 2, 0x18, 0xac, 0x02, 0x20, 1, 0x2a, 1, 0x76])
    expect([...marshalKeyValue({ ...record, value: b(""), createRevision: 0, version: 0, tombstone: true })]).toEqual([0x0a, 1, 0x6b])
  })

  it("is equal for equal histories and changes with any write, at any revision asked", () => {
    const one = newStore()
    const two = newStore()
    for (const s of [one, two]) { put(s, "a", "1"); put(s, "b", "2"); del(s, "a") }
    expect(hashOf(hashKV(one, 0))).toBe(hashOf(hashKV(two, 0)))
    const before = hashOf(hashKV(one, 0))
    put(one, "c", "3")
    expect(hashOf(hashKV(one, 0))).not.toBe(before)
    expect(hashOf(hashKV(one, 4))).toBe(before)
  })

  it("refuses compacted and future revisions; compaction drops what it removed from the sum", () => {
    const s = newStore()
    put(s, "a", "1"); put(s, "a", "2"); put(s, "b", "1")
    const atFour = hashOf(hashKV(s, 4))
    apply(s, { type: "Compaction", request: { revision: 3, physical: true } })
    expect(hashKV(s, 3)).toEqual({ type: "Error", error: KvErrors.compacted })
    expect(hashKV(s, 5)).toEqual({ type: "Error", error: KvErrors.futureRevision })
    // a@2 is gone from the backend after compacting at 3, so etcd's sum at 4 no longer covers it.
    expect(hashOf(hashKV(s, 4))).not.toBe(atFour)
    expect(hashOf(hashKV(s, 0))).toBe(hashOf(hashKV(s, 4)))
  })
})
