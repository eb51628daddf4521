// `verikv check-history`, run as a real process on small files: the summary it prints and the
// exit code that carries the verdict (0 linearizable, 1 violation, 2 unknown, 3 unreadable).
import { spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const mainScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/main.ts")
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-check-history-"))
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }))

function checkHistoryOn(lines: ReadonlyArray<string>, ...flags: Array<string>): { code: number | null; stdout: string; stderr: string } {
  const file = path.join(workDir, `history-${Math.random().toString(36).slice(2)}.ndjson`)
  fs.writeFileSync(file, lines.map((line) => `${line}\n`).join(""))
  const run = spawnSync(process.execPath, [mainScript, "check-history", file, ...flags], { encoding: "utf8" })
  return { code: run.status, stdout: run.stdout.replaceAll(file, "FILE"), stderr: run.stderr.replaceAll(file, "FILE") }
}

const writeBoth = (client: number, value: string, invoke: number, ret: number): string =>
  `{"client":${client},"type":"txn","compare":[],"success":[{"type":"put","key":"a","value":"${value}"},` +
  `{"type":"put","key":"b","value":"${value}"}],"failure":[],"invoke":${invoke},"return":${ret},"succeeded":true,"reads":[]}`
const readBoth = (reads: string, invoke: number, ret: number): string =>
  `{"client":3,"type":"txn","compare":[],"success":[{"type":"get","key":"a"},{"type":"get","key":"b"}],` +
  `"failure":[],"invoke":${invoke},"return":${ret},"succeeded":true,"reads":${reads}}`
const otherKey = `{"client":4,"type":"put","key":"c","value":"x","invoke":0}`

describe("verikv check-history", () => {
  it("prints the violation's component and minimal operations, and exits 1", () => {
    const run = checkHistoryOn([writeBoth(1, "0", 0, 1), writeBoth(2, "1", 2, 6), readBoth(`["1","0"]`, 3, 5), otherKey])
    expect(run.code).toBe(1)
    const lines = run.stdout.split("\n")
    expect(lines.slice(0, 3)).toEqual(["history: FILE", "operations: 4 (1 without a reply)", "components: 2 (independent key groups, checked separately)"])
    expect(lines[3]).toMatch(/^steps: \d+ of 10000000$/)
    expect(lines[4]).toMatch(/^time: \d+ ms$/)
    expect(lines.slice(5)).toEqual([
      "verdict: NOT linearizable",
      `component: keys "a", "b"`,
      "minimal offending operations (1; leave out any one and the rest can be linearized):",
      `  client 3 [3, 5] txn(if true then [get("a"), get("b")] else []) -> succeeded, read "1", "0"`,
      "(the component's other operations stay in the check as if unanswered: they may or may not have taken effect)",
      "",
    ])
  })

  it("exits 0 on a linearizable history, and prints JSON with --json", () => {
    const run = checkHistoryOn([writeBoth(1, "0", 0, 1), writeBoth(2, "1", 2, 6), readBoth(`["1","1"]`, 3, 5), otherKey], "--json")
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ verdict: "linearizable", operations: 4, unanswered: 1, components: 2 })
  })

  it("exits 2 when the budget runs out, naming the component", () => {
    const run = checkHistoryOn([writeBoth(1, "0", 0, 1), readBoth(`["0","0"]`, 3, 5)], "--budget", "1")
    expect(run.code).toBe(2)
    expect(run.stdout).toContain("verdict: unknown")
    expect(run.stdout).toContain(`component: keys "a", "b"`)
  })

  it("exits 3 on unreadable input, with the line and the reason", () => {
    const run = checkHistoryOn([writeBoth(1, "0", 0, 1), "", `{"client":1,"type":"txn","compare":[],"success":[],"failure":[]}`])
    expect(run.code).toBe(3)
    expect(run.stdout).toBe("")
    expect(run.stderr).toBe(`verikv check-history: FILE: line 3: "invoke" must be a finite number\n`)
    const missing = spawnSync(process.execPath, [mainScript, "check-history", path.join(workDir, "absent.ndjson")], { encoding: "utf8" })
    expect(missing.status).toBe(3)
    expect(missing.stderr).toMatch(/cannot read .*absent\.ndjson/)
  })
})
