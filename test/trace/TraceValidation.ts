// Trace validation: runs TLC on spec/TraceRaft.tla to check that NDJSON traces of the real core
// (test/sim/TraceWriter.ts) are behaviours of spec/Raft.tla. Shared by scripts/validate-traces.ts
// and test/trace/traceValidation.test.ts.
//
// TraceRaft.tla reads one file that may hold several traces, each starting with its Init line,
// as long as they share servers, initial configuration, PreVote and CheckQuorum. So traces are
// grouped by those, concatenated into batch files of at most `batchTracesMax` traces, and each batch is one
// TLC run (a JVM start costs more than validating a few hundred lines).
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")
const specDir = join(repoRoot, "spec")

/** Most traces in one TLC run: TLC keeps every state of the batch (about 20 MB per trace of 800 lines). */
export const batchTracesMax = 40

export interface TlaTools {
  readonly java: string
  readonly jar: string
}

/** Java and tla2tools.jar (TLA2TOOLS_JAR, else ../shared/tlc/tla2tools.jar), or why not. */
export function findTlaTools(): TlaTools | { readonly missing: string } {
  const fromEnv = process.env["TLA2TOOLS_JAR"]
  const shared = resolve(repoRoot, "..", "shared", "tlc", "tla2tools.jar")
  let jar: string
  if (fromEnv !== undefined && fromEnv !== "") {
    if (!existsSync(fromEnv)) return { missing: `TLA2TOOLS_JAR is set to ${fromEnv}, but there is no file there` }
    jar = resolve(fromEnv)
  } else if (existsSync(shared)) {
    jar = shared
  } else {
    return {
      missing:
        `tla2tools.jar (the TLA+ tools) was not found: looked in $TLA2TOOLS_JAR (unset) and ${shared}. ` +
        "Get it from https://github.com/tlaplus/tlaplus/releases and set TLA2TOOLS_JAR=/path/to/tla2tools.jar",
    }
  }
  const probe = spawnSync("java", ["-version"], { stdio: "ignore" })
  if (probe.error !== undefined || probe.status !== 0) {
    return { missing: "`java` was not found on PATH (or does not run); TLC needs Java 11 or newer, e.g. apt-get install default-jre-headless" }
  }
  return { java: "java", jar }
}

/** Where validation of one trace stopped, and TLC's explanation. */
export interface TraceMismatch {
  /** Line of the trace file (1 = the Init line) that no spec step matched. */
  readonly line: number
  readonly action: string
  /** TLC's TRACE MISMATCH report: what the spec state or message was, and what the code traced. */
  readonly report: string
}

export interface TraceVerdict {
  readonly file: string
  /** Lines after the Init line: the steps to match. */
  readonly steps: number
  /** Steps TLC matched (all of them when the trace passes). */
  readonly matched: number
  readonly mismatch: TraceMismatch | undefined
  /** Set when TLC failed for another reason (a parse error, a crash): the trace was not judged. */
  readonly error: string | undefined
}

export const passed = (v: TraceVerdict): boolean => v.mismatch === undefined && v.error === undefined

interface Header {
  readonly servers: unknown
  readonly initialConfig: unknown
  readonly preVote: unknown
  readonly checkQuorum: unknown
}

/** The part of a trace's Init line that must agree within one TLC run. */
function batchKey(text: string): string {
  const first = text.slice(0, text.indexOf("\n"))
  const header = JSON.parse(first) as Header & { action: unknown }
  if (header.action !== "Init") throw new Error("trace validation: a trace must start with its Init line")
  return JSON.stringify([header.servers, header.initialConfig, header.preVote, header.checkQuorum])
}

/** Splits `items` into the fewest consecutive chunks of at most `size`, of nearly equal lengths. */
function chunks<T>(items: ReadonlyArray<T>, size: number): T[][] {
  const count = Math.ceil(items.length / size)
  const out: T[][] = []
  for (let k = 0; k < count; k++) {
    out.push(items.slice(Math.floor((k * items.length) / count), Math.floor(((k + 1) * items.length) / count)))
  }
  return out
}

export interface ValidateOptions {
  readonly tools: TlaTools
  /** Where batch files and TLC's output go; a fresh temporary directory (removed after) if unset. */
  readonly workDir?: string
  /** Called after each TLC run, e.g. to print progress. */
  readonly onBatch?: (verdicts: ReadonlyArray<TraceVerdict>, seconds: number) => void
}

/** Validates each trace file (each holding one trace); one verdict per file, in order. */
export function validateTraces(files: ReadonlyArray<string>, options: ValidateOptions): TraceVerdict[] {
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), "verikv-trace-validation-"))
  mkdirSync(workDir, { recursive: true })
  const texts = new Map(files.map((file) => [file, readFileSync(file, "utf8")]))
  const groups = new Map<string, string[]>()
  for (const file of files) {
    const key = batchKey(texts.get(file)!)
    groups.set(key, [...(groups.get(key) ?? []), file])
  }
  const verdicts = new Map<string, TraceVerdict>()
  let batch = 0
  try {
    for (const group of groups.values()) {
      for (const members of chunks(group, batchTracesMax)) {
        const started = Date.now()
        const results = runBatch(options.tools, workDir, batch++, members, texts)
        results.forEach((v) => verdicts.set(v.file, v))
        options.onBatch?.(results, (Date.now() - started) / 1000)
      }
    }
  } finally {
    if (options.workDir === undefined) rmSync(workDir, { recursive: true, force: true })
  }
  return files.map((file) => verdicts.get(file)!)
}

/** One TLC run over the traces of `members`, concatenated. */
function runBatch(
  tools: TlaTools,
  workDir: string,
  batch: number,
  members: ReadonlyArray<string>,
  texts: ReadonlyMap<string, string>,
): TraceVerdict[] {
  const name = `batch-${String(batch).padStart(3, "0")}`
  const traceFile = join(workDir, `${name}.ndjson`)
  const bodies = members.map((file) => texts.get(file)!.trimEnd() + "\n")
  writeFileSync(traceFile, bodies.join(""))
  const cfg = readFileSync(join(specDir, "TraceRaft.cfg"), "utf8")
  const setFile = cfg.replace(/^CONSTANT TraceFile = .*$/m, `CONSTANT TraceFile = ${JSON.stringify(traceFile)}`)
  if (setFile === cfg) throw new Error("trace validation: spec/TraceRaft.cfg has no `CONSTANT TraceFile = ...` line")
  const cfgFile = join(workDir, `${name}.cfg`)
  writeFileSync(cfgFile, setFile)
  const metadir = mkdtempSync(join(workDir, `${name}-states-`))
  const out = spawnSync(
    tools.java,
    [
      "-XX:+UseParallelGC",
      "-cp", tools.jar,
      "tlc2.TLC",
      "-workers", "1",
      "-noGenerateSpecTE",
      "-metadir", metadir,
      "-config", cfgFile,
      join(specDir, "TraceRaft.tla"),
    ],
    { cwd: specDir, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  )
  rmSync(metadir, { recursive: true, force: true })
  const output = `${out.stdout ?? ""}${out.stderr ?? ""}`
  writeFileSync(join(workDir, `${name}.out`), output)
  const steps = bodies.map((body) => body.split("\n").length - 2)
  const judged = parseVerdicts(output)
  const reports = parseMismatches(output)
  return members.map((file, k) => {
    const trace = k + 1
    const verdict = judged.get(trace)
    if (verdict === undefined) {
      const why = out.error?.message ?? `TLC exited ${String(out.status)} without judging this trace`
      return { file, steps: steps[k]!, matched: 0, mismatch: undefined, error: `${why}\n${tail(output, 40)}` }
    }
    if (verdict.failedAt === undefined) return { file, steps: steps[k]!, matched: steps[k]!, mismatch: undefined, error: undefined }
    const line = verdict.failedAt
    return {
      file,
      steps: steps[k]!,
      matched: line - 2,
      mismatch: { line, action: verdict.action ?? "?", report: reports.get(trace) ?? "(no TRACE MISMATCH report)" },
      error: undefined,
    }
  })
}

interface Judged {
  readonly failedAt: number | undefined
  readonly action: string | undefined
}

/**
 * TraceMatched's verdicts: <<"trace", k, "matched", n, "lines">> or
 * <<"trace", k, "FAILED at line", n, "of", m, "A">> (TLC breaks long tuples over several lines).
 */
function parseVerdicts(output: string): Map<number, Judged> {
  const judged = new Map<number, Judged>()
  for (const m of output.matchAll(/<<\s*"trace",\s*(\d+),\s*"matched",\s*\d+,\s*"lines"\s*>>/g)) {
    judged.set(Number(m[1]), { failedAt: undefined, action: undefined })
  }
  const failed = /<<\s*"trace",\s*(\d+),\s*"FAILED at line",\s*(\d+),\s*"of",\s*\d+,\s*"(\w+)"\s*>>/g
  for (const m of output.matchAll(failed)) judged.set(Number(m[1]), { failedAt: Number(m[2]), action: m[3] })
  return judged
}

/** The TRACE MISMATCH tuples TLC printed (pretty-printed over several lines), by trace. */
function parseMismatches(output: string): Map<number, string> {
  const reports = new Map<number, string>()
  const lines = output.split("\n")
  for (let k = 0; k < lines.length; k++) {
    if (!/^<<\s*"TRACE MISMATCH"/.test(lines[k]!)) continue
    const block: string[] = []
    let depth = 0
    for (let j = k; j < lines.length; j++) {
      const text = lines[j]!
      block.push(text)
      depth += (text.match(/<</g) ?? []).length - (text.match(/>>/g) ?? []).length
      if (depth <= 0) break
    }
    const joined = block.join("\n")
    const where = /"trace",\s*(\d+),\s*"line",\s*(\d+)/.exec(joined)
    // The trace's number within its batch means nothing to the reader (who gets the file): drop it.
    const report = joined.replace(/"trace",\s*\d+,\s*/, "")
    if (where !== null && !reports.has(Number(where[1]))) reports.set(Number(where[1]), report)
  }
  return reports
}

function tail(text: string, lineCount: number): string {
  return text.trimEnd().split("\n").slice(-lineCount).join("\n")
}
