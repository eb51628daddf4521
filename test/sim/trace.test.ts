// The simulation's NDJSON traces: every line parses, every action is one of spec/Raft.tla's,
// and the events carry what trace validation needs.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { writeTraces } from "./TraceWriter.ts"

const specText = readFileSync(new URL("../../spec/Raft.tla", import.meta.url), "utf8")

/** Whether spec/Raft.tla defines an operator `name` (an action, or Init). */
function isSpecOperator(name: string): boolean {
  return new RegExp(`^${name}(\\(.*\\))? ==`, "m").test(specText)
}

type Line = Record<string, unknown>

describe("simulation traces", () => {
  const dir = mkdtempSync(join(tmpdir(), "verikv-traces-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const summaries = writeTraces({ dir, count: 6, steps: 300, firstSeed: 1 })
  const traces = summaries.map((s) => readFileSync(s.file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Line))

  it("writes one file per seed, each from a passing run", () => {
    expect(summaries).toHaveLength(6)
    for (const s of summaries) expect(s.failure).toBeUndefined()
  })

  it("starts with the run's parameters", () => {
    for (const [header] of traces) {
      expect(header).toMatchObject({ action: "Init", preVote: expect.any(Boolean), checkQuorum: expect.any(Boolean) })
      expect((header!["servers"] as number[]).length).toBeGreaterThanOrEqual(3)
      expect(header!["initialConfig"]).toMatchObject({ votersOutgoing: [], learners: [] })
    }
  })

  it("names only actions of spec/Raft.tla", () => {
    const actions = new Set(traces.flat().map((line) => line["action"] as string))
    for (const action of actions) expect(isSpecOperator(action), action).toBe(true)
    // The runs are long enough to show elections, replication and the environment at work.
    for (const action of ["Timeout", "BecomeLeader", "AppendEntries", "AdvanceCommitIndex", "DropMessage", "Restart"]) {
      expect(actions.has(action), action).toBe(true)
    }
  })

  it("carries the acting server's state, and encodes entries and messages without null", () => {
    for (const line of traces.flat().slice(1)) {
      expect(JSON.stringify(line)).not.toContain("null")
      if (line["action"] === "DropMessage" || line["action"] === "DuplicateMessage") expect(line["message"]).toBeDefined()
      if (line["server"] === undefined) continue
      const state = line["state"] as Line
      expect(Object.keys(state).sort()).toEqual(
        ["commitIndex", "config", "currentTerm", "leaderId", "log", "snapshotIndex", "snapshotTerm", "state", "votedFor"],
      )
      for (const entry of state["log"] as Line[]) {
        expect(Object.keys(entry).sort()).toEqual(["config", "index", "term", "type", "value"])
        expect(entry["value"]).toEqual(expect.any(Number))
      }
    }
  })
})
