// Reading server trace files (test/trace/ServerTraceFiles.ts, behind `validate-traces
// --server-traces`): a file read in chunks validates like the lines in memory, a last line cut
// off by a kill is left out and reported, and a line that is no trace line stops validation
// with its number.
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkNodeLoopTrace } from "../../src/check/node-loop.ts"
import { parseServerTraceLine } from "../../src/check/server-trace-format.ts"
import { tracedScenario } from "../server/TracedCluster.ts"
import { serverTraceFiles, serverTracePassed, validateServerTraceFile } from "./ServerTraceFiles.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-server-trace-files-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let lines: ReadonlyArray<string> = []

describe("server trace files", () => {
  beforeAll(async () => {
    lines = await tracedScenario({ snapshotCount: 8 }, 10)
  }, 60_000)

  it("validate as the same lines in memory do", () => {
    const file = path.join(dir, "whole.ndjson")
    fs.writeFileSync(file, lines.join("\n") + "\n")
    const verdict = validateServerTraceFile(file)
    expect(serverTracePassed(verdict)).toBe(true)
    expect(verdict.truncated).toBe(false)
    expect(verdict.report).toEqual(checkNodeLoopTrace(lines.map(parseServerTraceLine)))
    expect(serverTraceFiles([dir])).toContain(file)
  })

  it("leave out a last line cut off mid-write, and say so", () => {
    const file = path.join(dir, "cut.ndjson")
    const text = lines.join("\n") + "\n"
    fs.writeFileSync(file, text.slice(0, text.length - 10))
    const verdict = validateServerTraceFile(file)
    expect(verdict.truncated).toBe(true)
    expect(serverTracePassed(verdict)).toBe(true)
    expect(verdict.report.events).toBe(lines.length - 1)
  })

  it("stop at a line that is not a trace line, naming it", () => {
    const file = path.join(dir, "bad.ndjson")
    fs.writeFileSync(file, [...lines.slice(0, 5), '{"kind":"Applied","node":1}', ...lines.slice(5)].join("\n") + "\n")
    const verdict = validateServerTraceFile(file)
    expect(serverTracePassed(verdict)).toBe(false)
    expect(verdict.malformed).toBe('line 6: Applied: field "index" is not a number')
    expect(verdict.report.events).toBe(5)
  })
})

