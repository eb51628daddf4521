// TraceFile (--experimental-trace-file): lines read back as server trace lines in the order they
// were traced, a start appends to an existing file, and buffered text stays under its bound
// (a write happens once traceBufferBytesMax is reached, without waiting for the timer).
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parseServerTraceLine } from "../../src/check/server-trace-format.ts"
import { bootstrapStorage, type RaftOptions } from "../../src/raft/Api.ts"
import type { LogIndex, NodeId, Term } from "../../src/raft/Types.ts"
import { TraceFile, traceBufferBytesMax } from "../../src/server/TraceFile.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-trace-file-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const options: RaftOptions = {
  id: 7 as NodeId, electionTimeoutTicks: 10, heartbeatTimeoutTicks: 1, preVote: true, checkQuorum: true,
  appendEntriesCountMax: 64, inflightCountMax: 16, seed: 1,
}
const recovered = bootstrapStorage({ voters: [7 as NodeId], votersOutgoing: [], learners: [] })
const applied = (index: number) => ({ kind: "Applied" as const, node: 7 as NodeId, index: index as LogIndex, term: 1 as Term })

describe("TraceFile", () => {
  it("appends Start and node-loop lines in order, across starts", () => {
    const file = path.join(dir, "order.ndjson")
    for (let run = 0; run < 2; run++) {
      const trace = new TraceFile(file)
      trace.start(options, recovered)
      trace.loop(applied(1))
      trace.loop({ kind: "Answered", node: 7 as NodeId, requestId: 2n ** 63n, index: 1 as LogIndex })
      trace.closeUnsafe()
    }
    const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n").map(parseServerTraceLine)
    expect(lines.map((l) => ("kind" in l ? l.kind : l.action))).toEqual(["Start", "Applied", "Answered", "Start", "Applied", "Answered"])
    expect(lines[2]).toMatchObject({ requestId: "9223372036854775808" })
  })

  it("writes once the buffer reaches its bound, not later", () => {
    const file = path.join(dir, "bound.ndjson")
    const trace = new TraceFile(file)
    const bytesOf = (index: number) => JSON.stringify({ kind: "Applied", node: 7, index, term: 1 }).length + 1
    let buffered = 0
    let index = 1
    for (; buffered + bytesOf(index) < traceBufferBytesMax; index++) {
      trace.loop(applied(index))
      buffered += bytesOf(index)
    }
    expect(fs.statSync(file).size).toBe(0)
    trace.loop(applied(index))
    expect(fs.statSync(file).size).toBeGreaterThanOrEqual(traceBufferBytesMax)
    trace.closeUnsafe()
  })
})
