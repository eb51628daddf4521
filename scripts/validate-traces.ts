// Trace validation: writes traces of random simulation runs of the real core, then has TLC check
// that each is a behaviour of spec/Raft.tla (spec/TraceRaft.tla), and prints one summary line:
//   traces: validated=N steps=M failed=F seconds=S
// (validated: traces TLC judged; steps: trace lines it matched; failed: traces it could not match).
//
//   npm run validate-traces -- [--count N] [--steps S] [--seed FIRST] [--config NAME]... [--bug NAME]...
//                              [--keep DIR] [[--trace] FILE]...
//
// --bug plants a bug of the zoo (src/raft/Bugs.ts) in the traced runs, to show validation rejects
// them; --keep writes the traces, TLC's batch files and its output to DIR and keeps them;
// trace files given (with or without --trace) are validated instead of new ones.
// Exits 1 if any trace fails validation (printing its file, line and TLC's report), or if TLC or
// Java is missing; 2 on bad flags.
//
//   npm run validate-traces -- --server-traces PATH...
//
// validates server traces (--experimental-trace-file; PATH a file, or a directory of *.ndjson
// files) with the node-loop validator (src/check/node-loop.ts) instead, without TLC, and prints
//   server traces: files=N events=M failed=F seconds=S
// after one line per violation (event number, member, rule, explanation).
//
//   npm run validate-traces -- --sim-traces N [--sim-steps S] [--seed FIRST] [--nodes K] [--bug NAME] [--keep DIR]
//
// runs the cluster simulator (test/dst) on N seeds from FIRST (default 1) with S fault-phase events
// each (default 1500), writes each run's merged global trace and server trace
// (test/dst/TraceWriter.ts), validates the global traces with TLC against spec/TraceRaft.tla and
// the server traces with the node-loop validator, and prints
//   sim traces: runs=N events=E tlc-failed=F node-loop-failed=G seconds=S
// --bug plants a core bug (src/raft/Bugs.ts) or a node-loop bug (src/server/NodeTrace.ts).
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { parseArgs } from "node:util"
import { isBugName } from "../src/raft/Bugs.ts"
import { simConfigs } from "../test/sim/Schedule.ts"
import { writeTraces } from "../test/sim/TraceWriter.ts"
import { describeViolation } from "../src/check/node-loop.ts"
import { serverTraceFiles, serverTracePassed, validateServerTraceFile, type ServerTraceVerdict } from "../test/trace/ServerTraceFiles.ts"
import { writeSimTraces } from "../test/dst/TraceWriter.ts"
import { isNodeLoopBug } from "../src/server/NodeTrace.ts"
import { findTlaTools, passed, type TlaTools, type TraceVerdict, validateTraces } from "../test/trace/TraceValidation.ts"

/**
 * The default batch, for CI: 150 traces of 800 schedule steps (about 600 lines each) from the
 * three simulation configurations in turn (3 servers with PreVote and CheckQuorum, 3 without,
 * 5 with membership changes), about 90,000 steps: a minute or two of TLC on 2 cores.
 */
const defaults = { count: "150", steps: "800", seed: "1" }

type ConfigKey = keyof typeof simConfigs

const isConfigKey = (name: string): name is ConfigKey => Object.hasOwn(simConfigs, name)

const usage =
  "usage: npm run validate-traces -- [--count N] [--steps S] [--seed FIRST] [--config NAME]... " +
  "[--bug NAME]... [--keep DIR] [[--trace] FILE]...\n" +
  "       npm run validate-traces -- --server-traces PATH...\n" +
  "       npm run validate-traces -- --sim-traces N [--sim-steps S] [--seed FIRST] [--nodes K] [--bug NAME] [--keep DIR]"

function positiveInteger(flag: string, text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${flag} needs a non-negative integer, not ${text}`)
  return n
}

function show(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel.startsWith("..") ? file : rel
}

function reportFailure(v: TraceVerdict): void {
  if (v.error !== undefined) {
    console.log(`FAILED ${show(v.file)}: TLC could not judge it\n${v.error}`)
    return
  }
  const m = v.mismatch!
  console.log(`FAILED ${show(v.file)} line ${m.line} (${m.action}): no step of spec/Raft.tla matches it`)
  console.log(m.report.replace(/^/gm, "    "))
}

/** TLC on `files`, printing a line per batch and each failure's report. */
function runTlc(files: ReadonlyArray<string>, tools: TlaTools, workDir: string): TraceVerdict[] {
  const verdicts = validateTraces(files, {
    tools,
    workDir,
    onBatch: (batch, seconds) => {
      const lines = batch.reduce((sum, v) => sum + v.steps, 0)
      const bad = batch.filter((v) => !passed(v)).length
      console.log(`tlc: ${batch.length} traces, ${lines} lines, ${bad} failed, ${seconds.toFixed(1)} s`)
    },
  })
  for (const v of verdicts) if (!passed(v)) reportFailure(v)
  return verdicts
}

/** Violations printed per server trace file (the first ones; later ones often follow from them). */
const violationsShownMax = 10

/** --server-traces: the node-loop validator over server trace files; 0 if all are clean. */
function validateServerTraces(paths: ReadonlyArray<string>): number {
  const started = Date.now()
  const verdicts = serverTraceFiles(paths).map(validateServerTraceFile)
  reportServerTraces(verdicts)
  const failed = verdicts.filter((v) => !serverTracePassed(v)).length
  const events = verdicts.reduce((sum, v) => sum + v.report.events, 0)
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`server traces: files=${verdicts.length} events=${events} failed=${failed} seconds=${seconds}`)
  return failed === 0 && verdicts.length > 0 ? 0 : 1
}

/** One line per file, and the first violations of each failed one. */
function reportServerTraces(verdicts: ReadonlyArray<ServerTraceVerdict>, quiet = false): void {
  for (const v of verdicts) {
    const { report } = v
    const note = v.truncated ? " (its last line was cut off and left out)" : ""
    if (serverTracePassed(v)) {
      if (!quiet) console.log(`${show(v.file)}: events=${report.events} members=${report.members}${note}`)
      continue
    }
    console.log(`FAILED ${show(v.file)}: events=${report.events}${note}`)
    if (v.malformed !== undefined) console.log(`    not a server trace: ${v.malformed}`)
    for (const violation of report.violations.slice(0, violationsShownMax)) console.log(`    ${describeViolation(violation)}`)
    const more = report.violations.length + report.violationsDropped - violationsShownMax
    if (more > 0) console.log(`    ... and ${more} more violations`)
  }
}

/** --sim-traces: traces of cluster simulator runs, checked by TLC and the node-loop validator. */
async function validateSimTraces(options: {
  count: number; steps: number; seed: number; nodes: number; bug: string | undefined; keep: string | undefined
}): Promise<number> {
  const tools = findTlaTools()
  if ("missing" in tools) {
    console.error(`validate-traces: ${tools.missing}`)
    return 1
  }
  const started = Date.now()
  const workDir = options.keep ?? mkdtempSync(join(tmpdir(), "verikv-validate-sim-traces-"))
  try {
    const runs = await writeSimTraces({
      dir: workDir, count: options.count, steps: options.steps, firstSeed: options.seed, nodes: options.nodes,
      ...(options.bug === undefined ? {} : { bug: options.bug }),
    })
    for (const run of runs) {
      const failure = run.result.failure
      if (failure !== undefined) console.log(`note: the simulation of seed ${run.seed} failed (${failure.kind})`)
    }
    const simSeconds = (Date.now() - started) / 1000
    const events = runs.reduce((sum, run) => sum + run.events, 0)
    console.log(`sim: ${runs.length} runs, ${events} trace events, ${simSeconds.toFixed(1)} s`)
    const verdicts = runTlc(runs.map((run) => run.file), tools, workDir)
    const tlcFailed = verdicts.filter((v) => !passed(v))
    const serverVerdicts = runs.map((run) => validateServerTraceFile(run.serverFile))
    reportServerTraces(serverVerdicts, true)
    const nodeLoopFailed = serverVerdicts.filter((v) => !serverTracePassed(v)).length
    const serverEvents = serverVerdicts.reduce((sum, v) => sum + v.report.events, 0)
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    console.log(`sim traces: runs=${runs.length} events=${events} tlc-matched=${verdicts.reduce((sum, v) => sum + v.matched, 0)} ` +
      `tlc-failed=${tlcFailed.length} node-loop-events=${serverEvents} node-loop-failed=${nodeLoopFailed} seconds=${seconds}`)
    if (options.keep !== undefined) console.log(`kept traces and TLC output in ${show(workDir)}`)
    return tlcFailed.length === 0 && nodeLoopFailed === 0 && runs.length > 0 ? 0 : 1
  } finally {
    if (options.keep === undefined) rmSync(workDir, { recursive: true, force: true })
  }
}

async function main(): Promise<number> {
  let values, positionals
  try {
    ;({ values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        count: { type: "string", default: defaults.count },
        steps: { type: "string", default: defaults.steps },
        seed: { type: "string", default: defaults.seed },
        config: { type: "string", multiple: true },
        bug: { type: "string", multiple: true },
        keep: { type: "string" },
        trace: { type: "string", multiple: true },
        "server-traces": { type: "string", multiple: true },
        "sim-traces": { type: "string" },
        "sim-steps": { type: "string", default: "1500" },
        nodes: { type: "string", default: "3" },
        help: { type: "boolean", short: "h" },
      },
    }))
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`)
    return 2
  }
  if (values.help === true) {
    console.log(usage)
    return 0
  }
  const serverTraces = values["server-traces"] ?? []
  if (serverTraces.length > 0) return validateServerTraces([...serverTraces, ...positionals])
  if (values["sim-traces"] !== undefined) {
    const bug = values.bug?.[0]
    if (bug !== undefined && !isBugName(bug) && !isNodeLoopBug(bug)) {
      console.error(`unknown bug: ${bug}`)
      return 2
    }
    let options
    try {
      options = {
        count: positiveInteger("--sim-traces", values["sim-traces"]),
        steps: positiveInteger("--sim-steps", values["sim-steps"]),
        seed: positiveInteger("--seed", values.seed),
        nodes: positiveInteger("--nodes", values.nodes),
        bug,
        keep: values.keep,
      }
    } catch (error) {
      console.error(`${(error as Error).message}\n${usage}`)
      return 2
    }
    return await validateSimTraces(options)
  }
  const configs = values.config ?? []
  const bugs = values.bug ?? []
  const unknown = [...configs.filter((c) => !isConfigKey(c)), ...bugs.filter((b) => !isBugName(b))]
  if (unknown.length > 0) {
    console.error(`unknown configuration or bug: ${unknown.join(", ")} (configurations: ${Object.keys(simConfigs).join(", ")})`)
    return 2
  }
  let count: number, steps: number, seed: number
  try {
    count = positiveInteger("--count", values.count)
    steps = positiveInteger("--steps", values.steps)
    seed = positiveInteger("--seed", values.seed)
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`)
    return 2
  }

  const tools = findTlaTools()
  if ("missing" in tools) {
    console.error(`validate-traces: ${tools.missing}`)
    return 1
  }
  const started = Date.now()
  const workDir = values.keep ?? mkdtempSync(join(tmpdir(), "verikv-validate-traces-"))
  try {
    let files: string[]
    const given = [...(values.trace ?? []), ...positionals]
    if (given.length > 0) {
      files = given
    } else {
      const summaries = writeTraces({
        dir: workDir,
        count,
        steps,
        firstSeed: seed,
        ...(configs.length === 0 ? {} : { configs: configs.filter(isConfigKey) }),
        ...(bugs.length === 0 ? {} : { bugs: new Set(bugs.filter(isBugName)) }),
      })
      for (const s of summaries) {
        if (s.failure !== undefined) {
          console.log(`note: the simulation of ${show(s.file)} broke ${s.failure.invariant} at step ${String(s.failure.step)}`)
        }
      }
      files = summaries.map((s) => s.file)
    }
    const verdicts = runTlc(files, tools, workDir)
    const failed = verdicts.filter((v) => !passed(v))
    const matched = verdicts.reduce((sum, v) => sum + v.matched, 0)
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    console.log(`traces: validated=${verdicts.length} steps=${matched} failed=${failed.length} seconds=${seconds}`)
    if (values.keep !== undefined) console.log(`kept traces and TLC output in ${show(workDir)}`)
    return failed.length === 0 ? 0 : 1
  } finally {
    if (values.keep === undefined) rmSync(workDir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
