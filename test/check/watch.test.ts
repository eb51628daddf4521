// The watch checks: a clean set of streams passes, and each planted anomaly (a duplicate, a
// reordering, a gap, a wrong value, an event the store never had, one outside the watch) is
// reported with its kind, stream, revision and key, and nothing else is.
import { describe, expect, it } from "vitest"
import { checkWatches, compareKeys, watchCovers, type WatchEvent, type WatchStream } from "../../src/check/watch.ts"

const put = (revision: number, key: string, value: string): WatchEvent => ({ revision, type: "PUT", key, value })
const del = (revision: number, key: string): WatchEvent => ({ revision, type: "DELETE", key, value: "" })

/** The store's history: a few keys under f/, one key outside, a delete. */
const truth: ReadonlyArray<WatchEvent> = [
  put(2, "f/a", "1"),
  put(3, "f/b", "2"),
  put(4, "g/x", "3"),
  put(5, "f/a", "4"),
  del(6, "f/b"),
  put(7, "f/c", "5"),
  put(8, "f/a", "6"),
]

const inRange = (from: number) => truth.filter((e) => e.revision >= from && e.key.startsWith("f/"))

const prefixStream = (events: ReadonlyArray<WatchEvent>, startRevision = 1): WatchStream =>
  ({ name: "prefix", key: "f/", rangeEnd: "f0", startRevision, events })

function kindsOf(streams: ReadonlyArray<WatchStream>) {
  return checkWatches(streams, truth).violations.map((v) => [v.stream, v.kind, v.revision, v.key])
}

describe("watch checks", () => {
  it("pass clean streams: a prefix, a single key, every key, a late start, one not caught up", () => {
    const streams: WatchStream[] = [
      prefixStream(inRange(1)),
      { name: "key", key: "f/a", startRevision: 1, events: truth.filter((e) => e.key === "f/a") },
      { name: "all", key: "\0", rangeEnd: "\0", startRevision: 1, events: truth },
      prefixStream(inRange(5), 5),
      prefixStream(inRange(1).filter((e) => e.revision <= 5)),
      prefixStream([]),
    ]
    const result = checkWatches(streams, truth)
    expect(result.violations).toEqual([])
    expect(result.streamsChecked).toBe(6)
    expect(result.eventsChecked).toBe(6 + 3 + 7 + 4 + 3)
  })

  it("flag a duplicate", () => {
    const events = inRange(1)
    expect(kindsOf([prefixStream([...events.slice(0, 3), events[2]!, ...events.slice(3)])]))
      .toEqual([["prefix", "duplicate", 5, "f/a"]])
  })

  it("flag a reordering", () => {
    const [a, b, ...rest] = inRange(1)
    expect(kindsOf([prefixStream([b!, a!, ...rest])])).toEqual([["prefix", "out-of-order", 2, "f/a"]])
  })

  it("flag a gap, also across a reconnection, but not beyond the last revision received", () => {
    const events = inRange(1).filter((e) => e.revision !== 5)
    expect(kindsOf([prefixStream(events)])).toEqual([["prefix", "gap", 5, "f/a"]])
    expect(kindsOf([prefixStream(inRange(1).filter((e) => e.revision !== 8))])).toEqual([])
  })

  it("flag a wrong value, a wrong type, an event the store never had, and one outside the watch", () => {
    const events = inRange(1).map((e) => (e.revision === 5 ? { ...e, value: "stale" } : e.revision === 6 ? { ...e, type: "PUT" as const, value: "x" } : e))
    expect(kindsOf([prefixStream(events)])).toEqual([
      ["prefix", "wrong-event", 5, "f/a"],
      ["prefix", "wrong-event", 6, "f/b"],
    ])
    expect(kindsOf([prefixStream([...inRange(1), put(9, "f/a", "7")])])).toEqual([["prefix", "wrong-event", 9, "f/a"]])
    expect(kindsOf([prefixStream([truth[2]!])])).toEqual([["prefix", "wrong-event", 4, "g/x"], ["prefix", "gap", 2, "f/a"], ["prefix", "gap", 3, "f/b"]])
    expect(kindsOf([prefixStream(inRange(1), 3)])).toEqual([["prefix", "wrong-event", 2, "f/a"]])
  })

  it("say which detail is wrong", () => {
    const events = inRange(1).map((e) => (e.revision === 5 ? { ...e, value: "stale" } : e))
    const [violation] = checkWatches([prefixStream(events)], truth).violations
    expect(violation?.detail).toBe('PUT "f/a"="stale" @5: the store has PUT "f/a"="4" @5')
  })

  it("order keys as etcd does (by UTF-8 bytes) and read range ends as etcd does", () => {
    expect(compareKeys("a", "b")).toBeLessThan(0)
    expect(compareKeys("ab", "a")).toBeGreaterThan(0)
    expect(compareKeys("\uffff", "\u{10000}")).toBeLessThan(0) // UTF-16 code units would say otherwise
    expect(watchCovers({ key: "f/a" }, "f/a")).toBe(true)
    expect(watchCovers({ key: "f/a" }, "f/ab")).toBe(false)
    expect(watchCovers({ key: "f/", rangeEnd: "f0" }, "f/zzz")).toBe(true)
    expect(watchCovers({ key: "f/", rangeEnd: "f0" }, "f0")).toBe(false)
    expect(watchCovers({ key: "f/", rangeEnd: "\0" }, "zz")).toBe(true)
    expect(watchCovers({ key: "f/", rangeEnd: "\0" }, "a")).toBe(false)
  })
})
