// The auto-compaction schedule against etcd 3.4's rules, with time passed in.
import { describe, expect, it } from "vitest"
import { AutoCompactor, parseCompactionPolicy } from "../../src/server/AutoCompactor.ts"

const MIN = 60_000
const HOUR = 60 * MIN

describe("auto compaction", () => {
  it("parses etcd's retention forms", () => {
    expect(parseCompactionPolicy("periodic", "0")).toEqual({ mode: "off" })
    expect(parseCompactionPolicy("periodic", "2")).toEqual({ mode: "periodic", periodMs: 2 * HOUR })
    expect(parseCompactionPolicy("periodic", "1h30m")).toEqual({ mode: "periodic", periodMs: 90 * MIN })
    expect(parseCompactionPolicy("periodic", "10s")).toEqual({ mode: "periodic", periodMs: 10_000 })
    expect(parseCompactionPolicy("revision", "1000")).toEqual({ mode: "revision", retainRevisions: 1000 })
    expect(() => parseCompactionPolicy("periodic", "ten minutes")).toThrow(/not a duration/)
    expect(() => parseCompactionPolicy("revision", "1h")).toThrow(/not a revision count/)
  })

  it("revision mode: every 5 minutes, to current minus retention, once per target", () => {
    const c = new AutoCompactor(parseCompactionPolicy("revision", "100"), 0)
    expect(c.poll(4 * MIN, 500)).toBeUndefined()
    expect(c.poll(5 * MIN, 500)).toBe(400)
    c.compacted(400, 5 * MIN)
    expect(c.poll(10 * MIN, 500)).toBeUndefined() // nothing new
    expect(c.poll(15 * MIN, 50)).toBeUndefined() // would be negative
    expect(c.poll(20 * MIN, 900)).toBe(800)
  })

  it("periodic mode: the revision of one period ago, first after a period, then every period", () => {
    const c = new AutoCompactor(parseCompactionPolicy("periodic", "1h"), 0)
    // Revisions grow by 100 per 6-minute sample.
    const revisionAt = (t: number): number => 1 + Math.floor(t / (6 * MIN)) * 100
    let first: number | undefined
    let t = 0
    for (; t <= 2 * HOUR && first === undefined; t += MIN) first = c.poll(t, revisionAt(t))
    t -= MIN
    expect(t).toBe(HOUR)
    expect(first).toBe(revisionAt(6 * MIN)) // the oldest kept sample: about one period ago
    c.compacted(first!, t)
    expect(c.poll(t + 30 * MIN, revisionAt(t + 30 * MIN))).toBeUndefined()
    let second: number | undefined
    let u = t + 31 * MIN
    for (; u <= 3 * HOUR && second === undefined; u += MIN) second = c.poll(u, revisionAt(u))
    expect(u - MIN).toBe(2 * HOUR)
    expect(second).toBeGreaterThan(first!)
  })
})
