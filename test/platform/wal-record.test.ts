// The record frame and payload codecs: round trips, and every single-byte change is caught.
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { readFrame, RecordType } from "../../src/platform/wal/RecordFrame.ts"
import { encodeSave } from "../../src/platform/wal/SaveEncoder.ts"
import { scanSegment } from "../../src/platform/wal/SegmentScan.ts"
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

const scan = (bytes: Uint8Array) => scanSegment(bytes, { fileName: "seg.wal", isLast: true, previousSaveSeq: undefined })

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
    fc.assert(fc.property(arbitraryEntry, fc.nat(), (e, n) => {
      const marker = { index: logIndex(n), term: term(n >> 1), kind: n % 2 === 0 ? "Installed" : "Compacted" } as const
      const save = encodeSave({ snapshotMarker: marker, entries: [e], hardState: hardState(n, n % 7, n) }, 2)
      const scanned = scan(segmentOf(save))
      expect(scanned.tornTail).toBeUndefined()
      expect(scanned.records).toEqual([
        { type: "SnapshotMarker", marker },
        { type: "Entry", entry: e },
        { type: "HardState", hardState: hardState(n, n % 7, n) },
      ])
    }))
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
