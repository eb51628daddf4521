// Watch routing: live events by span and filter, and catch-up from history or compact_revision.
import { describe, expect, it } from "vitest"
import { apply, catchUp, eventsFor, newStore, type WatchSpec } from "../../src/kv/index.ts"
import { b, put, del, text } from "./helpers.ts"

const spec = (key: string, rangeEnd = "", extra: Partial<WatchSpec> = {}): WatchSpec =>
  ({ key: b(key), rangeEnd: b(rangeEnd), noPut: false, noDelete: false, prevKv: false, ...extra })

describe("watch routing", () => {
  it("routes a revision's events by key, range and \\0, with NOPUT/NODELETE and prev_kv", () => {
    const s = newStore()
    put(s, "a", "1")
    put(s, "b", "1")
    const { events } = apply(s, { type: "DeleteRange", request: { key: b("a"), rangeEnd: b("\0"), prevKv: false } })
    expect(eventsFor(spec("a"), events).map((e) => text(e.kv.key))).toEqual(["a"])
    expect(eventsFor(spec("b", "\0"), events).map((e) => text(e.kv.key))).toEqual(["b"])
    expect(eventsFor(spec("a", "c", { noDelete: true }), events)).toEqual([])
    expect(eventsFor(spec("a", "c"), events)[0]!.prevKv).toBeUndefined()
    expect(text(eventsFor(spec("a", "c", { prevKv: true }), events)[0]!.prevKv!.value)).toBe("1")
  })

  it("catches up from history and reports compaction", () => {
    const s = newStore()
    put(s, "a", "1") // 2
    put(s, "a", "2") // 3
    del(s, "a") // 4
    const caught = catchUp(s, spec("a", "", { prevKv: true }), 3)
    expect(caught.type === "Events" && caught.events.map((e) => [e.type, e.kv.modRevision, text(e.prevKv!.value)]))
      .toEqual([[0, 3, "1"], [1, 4, "2"]])
    expect(catchUp(s, spec("a"), 0)).toEqual({ type: "Events", events: [], nextRevision: 5 })
    apply(s, { type: "Compaction", request: { revision: 3, physical: false } })
    expect(catchUp(s, spec("a"), 2)).toEqual({ type: "Compacted", compactRevision: 3 })
  })
})
