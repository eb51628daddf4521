// The record frame and payload codecs: round trips, and every single-byte change is caught.
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { readFrame, RecordType } from "../../src/platform/wal/RecordFrame.ts"
import { encodeSave } from "../../src/platform/wal/SaveEncoder.ts"
import { bytesSource, scanSegment } from "../../src/platform/wal/SegmentScan.ts"
import { encodeSegmentHeader } from "../../src/platform/wal/SaveEncoder.ts"
import type { Entry } from "../../src/raft/Types.ts"
import { logIndex, nodeId, term } from "../../src/raft/Types.ts"
import { configEntry, entry, hardState, threeVoters } from "./WalTestKit.ts"

const header = encodeSegmentHeader({
  formatVersion: 1, segmentSeq: 0, firstIndex: logIndex(1), hardState: hardState(0, 0, 0), snapshotMarker: undefined,
}, 1)

function segmentOf(...saves: Uint8Array[]): Uint8Array {
  const total = header.length + saves.reduce((n, s) => n + s.length, 0)
  const bytes = new Uint8Array(total + 256) // a zero tail, as in a preallocated file
  bytes.set(header, 0)
  let at = header.length
  for (const s of saves) {
    bytes.set(s, at)
    at += s.length
  }
  return bytes
}

const scan = (bytes: Uint8Array, windowBytes?: number, isLast = true) =>
  scanSegment(bytesSource(bytes), { fileName: "seg.wal", isLast, previousSaveSeq: undefined, ...(windowBytes !== undefined && { windowBytes }) })

/** What a scan decided: its result, or the error it refused the segment with. */
const outcome = (bytes: Uint8Array, windowBytes: number | undefined, isLast: boolean) =>
  scan(bytes, windowBytes, isLast).then((scanned) => ({ scanned }), (error: unknown) => ({ error: String(error) }))

const arbitraryEntry = fc.record({
  index: fc.integer({ min: 1, max: 2 ** 53 - 1 }),
  term: fc.integer({ min: 0, max: 2 ** 53 - 1 }),
  data: fc.uint8Array({ maxLength: 64 }),
  config: fc.option(fc.record({
    voters: fc.array(fc.integer({ min: 0, max: 2 ** 53 - 1 }), { maxLength: 5 }),
    votersOutgoing: fc.array(fc.nat(), { maxLength: 3 }),
    learners: fc.array(fc.nat(), { maxLength: 3 }),
  }), { nil: undefined }),
}).map(({ index, term: t, data, config }): Entry => ({
  index: logIndex(index),
  term: term(t),
  type: config === undefined ? "Normal" : "Config",
  data: config === undefined ? data : new Uint8Array(),
  config: config === undefined ? undefined : {
    voters: config.voters.map(nodeId), votersOutgoing: config.votersOutgoing.map(nodeId), learners: config.learners.map(nodeId),
  },
}))

describe("wal records", () => {
  it("round-trip entries (Normal and Config), hard states and snapshot markers", () => {
    fc.assert(fc.asyncProperty(arbitraryEntry, fc.nat(), async (e, n) => {
      const marker = { index: logIndex(n), term: term(n >> 1), kind: n % 2 === 0 ? "Installed" : "Compacted" } as const
      const save = encodeSave({ snapshotMarker: marker, entries: [e], hardState: hardState(n, n % 7, n) }, 2)
      const scanned = await scan(segmentOf(save))
      expect(scanned.tornTail).toBeUndefined()
      expect(scanned.records).toEqual([
        { type: "SnapshotMarker", marker },
        { type: "Entry", entry: e },
        { type: "HardState", hardState: hardState(n, n % 7, n) },
      ])
    }))
  })

  it("reads a segment through any window size exactly as whole: records, torn tails and refusals", async () => {
    // Saves of 1-3 entries (up to 300 bytes, larger than the small windows), then damage: cut the
    // file short, zero a range, or flip a byte. Sealed segments (isLast false) get the same damage.
    const arbitrarySegment = fc.record({
      saves: fc.array(fc.array(fc.uint8Array({ maxLength: 300, size: "max" }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
      tail: fc.constantFrom(0, 8, 256),
      damage: fc.oneof(
        fc.constant({ kind: "none" as const }),
        fc.record({ kind: fc.constant("cut" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
        fc.record({ kind: fc.constant("zero" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.integer({ min: 1, max: 64 }) }),
        fc.record({ kind: fc.constant("flip" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), mask: fc.integer({ min: 1, max: 255 }) }),
      ),
      isLast: fc.boolean(),
    })
    await fc.assert(fc.asyncProperty(arbitrarySegment, async ({ saves, tail, damage, isLast }) => {
      let index = 1
      const encoded = saves.map((datas, k) => encodeSave({
        snapshotMarker: undefined,
        entries: datas.map((data) => ({ index: logIndex(index++), term: term(1), type: "Normal" as const, data, config: undefined })),
        hardState: hardState(1, 1, index - 1),
      }, k + 2))
      const whole = segmentOf(...encoded)
      let bytes = whole.subarray(0, whole.length - 256 + tail)
      const at = damage.kind === "none" ? 0 : Math.floor(damage.at * bytes.length)
      if (damage.kind === "cut") bytes = bytes.subarray(0, at)
      if (damage.kind === "zero") bytes.fill(0, at, at + damage.bytes)
      if (damage.kind === "flip") bytes[at] = bytes[at]! ^ damage.mask
      const expected = await outcome(bytes, undefined, isLast)
      for (const windowBytes of [16, 24, 40, 64, 200, 4096]) {
        expect(await outcome(bytes, windowBytes, isLast), `window ${windowBytes}`).toEqual(expected)
      }
    }), { numRuns: 300 })
  })

  it("pads every frame to 8 bytes and marks only the last record of a save", () => {
    const save = encodeSave({ snapshotMarker: undefined, entries: [entry(1, 1, "abc"), configEntry(2, 1, threeVoters)], hardState: undefined }, 9)
    const view = new DataView(save.buffer)
    const first = readFrame(save, view, 0, save.length)
    expect(first).toMatchObject({ kind: "Record", type: RecordType.Entry, lastOfSave: false, saveSeq: 9 })
    if (first.kind !== "Record") throw new Error("unreachable")
    expect(first.next % 8).toBe(0)
    expect(readFrame(save, view, first.next, save.length)).toMatchObject({ kind: "Record", lastOfSave: true, next: save.length })
  })

  it("a change to any byte of a frame makes it read as damaged, never as another record", () => {
    const save = encodeSave({ snapshotMarker: undefined, entries: [entry(1, 3, "payload!")], hardState: undefined }, 2)
    for (let i = 0; i < save.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const bytes = save.slice()
        bytes[i] = bytes[i]! ^ flip
        const frame = readFrame(bytes, new DataView(bytes.buffer), 0, bytes.length)
        expect(frame.kind, `byte ${i} ^ ${flip}`).not.toBe("Record")
      }
    }
  })
})
