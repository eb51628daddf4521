// RaftLog against a naive model: a plain array of every entry ever kept, compaction as an offset.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  appendEntry,
  checkRaftLog,
  compactTo,
  currentConfig,
  lastIndex,
  newRaftLog,
  termAt,
  truncateFrom,
} from "../../src/raft/RaftLog.ts"
import type { Config, Entry, LogIndex, NodeId, Term } from "../../src/raft/Types.ts"

const initial: Config = { voters: [1] as NodeId[], votersOutgoing: [], learners: [] }
const snapshot0 = { meta: { index: 0 as LogIndex, term: 0 as Term, config: initial }, data: new Uint8Array() }

type Op = { op: "append"; bump: number; isConfig: boolean } | { op: "truncate"; back: number } | { op: "compact"; back: number }
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("append" as const), bump: fc.integer({ min: 0, max: 1 }), isConfig: fc.boolean() }),
  fc.record({ op: fc.constant("truncate" as const), back: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ op: fc.constant("compact" as const), back: fc.integer({ min: 0, max: 4 }) }),
)

describe("RaftLog", () => {
  it("matches a naive array under append, truncate and compact", () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const log = newRaftLog(snapshot0, [], 0 as LogIndex)
      const model: Entry[] = [] // model[k] is index k + 1
      let compacted = 0
      for (const o of ops) {
        const last = lastIndex(log)
        if (o.op === "append") {
          const term = ((model[model.length - 1]?.term ?? 1) + o.bump) as Term
          const config = o.isConfig ? { voters: [1, last + 1] as NodeId[], votersOutgoing: [], learners: [] } : undefined
          const entry: Entry = { term, index: (last + 1) as LogIndex, type: o.isConfig ? "Config" : "Normal", data: new Uint8Array(), config }
          appendEntry(log, entry)
          model.push(entry)
        } else if (o.op === "truncate") {
          const from = last - o.back + 1
          if (from <= log.commitIndex || from > last + 1) continue
          truncateFrom(log, from as LogIndex)
          model.length = from - 1
        } else {
          const at = last - o.back
          if (at <= compacted) continue
          log.commitIndex = Math.max(log.commitIndex, at) as LogIndex
          log.applyingIndex = log.appliedIndex = log.commitIndex
          compactTo(log, { meta: { index: at as LogIndex, term: model[at - 1]!.term, config: initial }, data: new Uint8Array() })
          compacted = at
        }
        log.unstableFrom = (lastIndex(log) + 1) as LogIndex
        log.stableIndex = Math.max(log.stableIndex, compacted) as LogIndex
        checkRaftLog(log)
        expect(lastIndex(log)).toBe(model.length)
        for (let k = compacted + 1; k <= model.length; k++) expect(termAt(log, k as LogIndex)).toBe(model[k - 1]!.term)
        if (compacted >= 1) expect(termAt(log, (compacted - 1) as LogIndex)).toBeUndefined()
        const lastConfig = model.slice(compacted).filter((e) => e.type === "Config").pop()
        if (lastConfig !== undefined) expect(currentConfig(log)).toBe(lastConfig.config)
      }
    }))
  })

  it("refuses to truncate committed entries", () => {
    const log = newRaftLog(snapshot0, [], 0 as LogIndex)
    appendEntry(log, { term: 1 as Term, index: 1 as LogIndex, type: "Normal", data: new Uint8Array(), config: undefined })
    log.commitIndex = 1 as LogIndex
    expect(() => truncateFrom(log, 1 as LogIndex)).toThrow(/committed/)
  })
})
