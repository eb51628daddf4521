// Validates server trace files (--experimental-trace-file) with the node-loop validator
// (src/check/node-loop.ts), reading each in chunks so that a long trace is never held whole.
// Shared by scripts/validate-traces.ts (--server-traces) and the tests.
import fs from "node:fs"
import path from "node:path"
import { NodeLoopChecker, type NodeLoopReport } from "../../src/check/node-loop.ts"
import { parseServerTraceLine } from "../../src/check/server-trace-format.ts"

const chunkBytes = 1 << 20

export interface ServerTraceVerdict {
  readonly file: string
  readonly report: NodeLoopReport
  /** A line that is not a server trace line (with its number), if any: validation stopped there. */
  readonly malformed: string | undefined
  /** Whether the file ended inside a line (a member killed mid-write): that line was left out. */
  readonly truncated: boolean
}

/** Calls `onLine` with each complete line of `file`, in chunks; returns a trailing partial line. */
function forEachLine(file: string, onLine: (text: string) => boolean): string {
  const fd = fs.openSync(file, "r")
  const buffer = Buffer.alloc(chunkBytes)
  let pending = ""
  try {
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, chunkBytes, null)
      if (read === 0) return pending
      const parts = (pending + buffer.toString("utf8", 0, read)).split("\n")
      pending = parts.pop()!
      for (const text of parts) if (text !== "" && !onLine(text)) return ""
    }
  } finally {
    fs.closeSync(fd)
  }
}

export function validateServerTraceFile(file: string): ServerTraceVerdict {
  const checker = new NodeLoopChecker()
  let number = 0
  let malformed: string | undefined
  const rest = forEachLine(file, (text) => {
    number++
    try {
      checker.check(parseServerTraceLine(text))
      return true
    } catch (error) {
      malformed = `line ${number}: ${(error as Error).message}`
      return false
    }
  })
  return { file, report: checker.report(), malformed, truncated: rest !== "" }
}

/** The trace files named: each path is a file, or a directory whose *.ndjson files are taken. */
export function serverTraceFiles(paths: ReadonlyArray<string>): string[] {
  return paths.flatMap((p) => fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).filter((name) => name.endsWith(".ndjson")).sort().map((name) => path.join(p, name))
    : [p])
}

export const serverTracePassed = (v: ServerTraceVerdict): boolean =>
  v.malformed === undefined && v.report.violations.length === 0
