// `npm run tlc [-- spec/MCRaftJoint.cfg ...]`: parse spec/Raft.tla with SANY, then model-check
// each CI configuration with TLC, and print one summary line per configuration:
//   tlc: cfg=NAME distinct=N states=M depth=D seconds=S result=ok|violation|error
// Exits non-zero if any run found a violation or failed. A run is "ok" only when TLC printed
// "Model checking completed. No error has been found." and exited 0.
import { spawn, spawnSync } from "node:child_process"
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const specDir = join(repoRoot, "spec")
const logDir = join(repoRoot, "out", "tlc")

/** The configurations CI checks, in order (each finishes in a few minutes on 2 cores). */
const ciConfigs: ReadonlyArray<string> = [
  "MCRaft.cfg",
  "MCRaftRead.cfg",
  "MCRaftTransfer.cfg",
  "MCRaftSnapshot.cfg",
  "MCRaftJoint.cfg",
]

const OK_LINE = "Model checking completed. No error has been found."

type Result = "ok" | "violation" | "error" | "incomplete"

interface Summary {
  readonly cfg: string
  readonly distinct: number | undefined
  readonly states: number | undefined
  readonly depth: number | undefined
  readonly seconds: number
  readonly result: Result
  readonly log: string
}

function fail(message: string): never {
  process.stderr.write(`tlc: ${message}\n`)
  process.exit(1)
}

function findJar(): string {
  const fromEnv = process.env["TLA2TOOLS_JAR"]
  if (fromEnv !== undefined && fromEnv !== "") {
    if (existsSync(fromEnv)) return resolve(fromEnv)
    fail(
      `TLA2TOOLS_JAR is set to ${fromEnv}, but there is no file there. Get tla2tools.jar from the ` +
        "TLA+ tools releases: https://github.com/tlaplus/tlaplus/releases",
    )
  }
  const shared = resolve(repoRoot, "..", "shared", "tlc", "tla2tools.jar")
  if (existsSync(shared)) return shared
  fail(
    [
      "tla2tools.jar (the TLA+ tools: SANY and TLC) was not found.",
      `  looked in: $TLA2TOOLS_JAR (unset), ${shared}`,
      "  get it from the TLA+ tools releases: https://github.com/tlaplus/tlaplus/releases",
      "  (asset tla2tools.jar), then run: TLA2TOOLS_JAR=/path/to/tla2tools.jar npm run tlc",
    ].join("\n"),
  )
}

function checkJava(): void {
  const probe = spawnSync("java", ["-version"], { stdio: "ignore" })
  if (probe.error !== undefined || probe.status !== 0) {
    fail(
      "`java` was not found on PATH (or does not run). TLC needs Java 11 or newer, " +
        "e.g. `apt-get install default-jre-headless`.",
    )
  }
}

/** SANY with -error-codes exits non-zero on parse and semantic errors. */
function runSany(jar: string, module: string): void {
  const out = spawnSync("java", ["-cp", jar, "tla2sany.SANY", "-error-codes", module], {
    cwd: repoRoot,
    encoding: "utf8",
  })
  const text = `${out.stdout ?? ""}${out.stderr ?? ""}`
  if (out.status !== 0 || /\*\*\* Errors:|Semantic errors|Parse Error/i.test(text)) {
    process.stderr.write(text)
    fail(`SANY rejected ${relative(repoRoot, module)} (exit ${String(out.status)})`)
  }
  process.stdout.write(`tlc: sany ${relative(repoRoot, module)} ok\n`)
}

/** spec/MCRaftJoint.cfg, MCRaftJoint.cfg or MCRaftJoint -> absolute path of the cfg. */
function resolveCfg(arg: string): string {
  const withExt = arg.endsWith(".cfg") ? arg : `${arg}.cfg`
  const candidates = [resolve(process.cwd(), withExt), resolve(repoRoot, withExt), join(specDir, basename(withExt))]
  const found = candidates.find((p) => existsSync(p))
  if (found === undefined) fail(`no such configuration: ${arg}`)
  return found
}

/** The module a cfg belongs to: a .tla of the same name if there is one, else MCRaft.tla. */
function moduleFor(cfg: string): string {
  const same = cfg.replace(/\.cfg$/, ".tla")
  return existsSync(same) ? same : join(dirname(cfg), "MCRaft.tla")
}

function lastNumber(text: string, re: RegExp): number | undefined {
  let value: number | undefined
  for (const m of text.matchAll(re)) value = Number((m[1] ?? "").replace(/,/g, ""))
  return value
}

function runTlc(jar: string, cfg: string, budgetSeconds: number): Promise<Summary> {
  const name = basename(cfg, ".cfg")
  const module = moduleFor(cfg)
  mkdirSync(logDir, { recursive: true })
  const logPath = join(logDir, `${name}.log`)
  const log = createWriteStream(logPath)
  const metadir = mkdtempSync(join(tmpdir(), `tlc-${name}-`))
  const args = [
    "-XX:+UseParallelGC",
    "-cp",
    jar,
    "tlc2.TLC",
    "-workers",
    "auto",
    "-deadlock",
    "-noGenerateSpecTE",
    "-metadir",
    metadir,
    "-config",
    cfg,
    module,
  ]
  process.stdout.write(`tlc: checking ${relative(repoRoot, cfg)} (log: ${relative(repoRoot, logPath)})\n`)
  const started = Date.now()
  // TLC's output is kept in memory too, to read the figures; runs are at most minutes long.
  let output = ""
  return new Promise((resolvePromise) => {
    const child = spawn("java", args, { cwd: dirname(module), stdio: ["ignore", "pipe", "pipe"] })
    // Interrupted: stop TLC too, rather than leave it running.
    const stop = (): void => {
      child.kill("SIGTERM")
      rmSync(metadir, { recursive: true, force: true })
      process.exit(130)
    }
    process.once("SIGINT", stop)
    process.once("SIGTERM", stop)
    // A budget ends the search early; the run is then reported as incomplete, never as ok.
    let outOfTime = false
    const budget = Number.isFinite(budgetSeconds)
      ? setTimeout(() => {
          outOfTime = true
          child.kill("SIGTERM")
        }, budgetSeconds * 1000)
      : undefined
    const take = (chunk: Buffer): void => {
      const text = chunk.toString("utf8")
      output += text
      log.write(text)
    }
    child.stdout.on("data", take)
    child.stderr.on("data", take)
    const finish = (code: number | null, spawnError: Error | undefined): void => {
      if (budget !== undefined) clearTimeout(budget)
      process.removeListener("SIGINT", stop)
      process.removeListener("SIGTERM", stop)
      const seconds = Math.round((Date.now() - started) / 100) / 10
      rmSync(metadir, { recursive: true, force: true })
      const completed = output.includes(OK_LINE)
      const violated =
        /Error: (Invariant \S+ is violated|Action property \S+ is violated|Temporal properties were violated|Deadlock reached)/.test(
          output,
        ) || /is violated/.test(output)
      const result: Result =
        spawnError === undefined && code === 0 && completed && !violated
          ? "ok"
          : violated
            ? "violation"
            : outOfTime
              ? "incomplete"
              : "error"
      const summary: Summary = {
        cfg: name,
        distinct: lastNumber(output, /([\d,]+) distinct states found/g),
        states: lastNumber(output, /([\d,]+) states generated/g),
        depth: lastNumber(output, /depth of the complete state graph search is (\d+)/g),
        seconds,
        result,
        log: logPath,
      }
      if (spawnError !== undefined) log.write(`\n[tlc.ts] could not run java: ${spawnError.message}\n`)
      log.write(`\n[tlc.ts] exit=${String(code)} result=${result} seconds=${String(seconds)}\n`)
      log.end(() => resolvePromise(summary))
    }
    let spawnError: Error | undefined
    child.on("error", (err) => {
      spawnError = err
    })
    child.on("close", (code) => finish(code, spawnError))
  })
}

function show(n: number | undefined): string {
  return n === undefined ? "?" : String(n)
}

async function main(): Promise<void> {
  let args = process.argv.slice(2).filter((a) => a !== "--")
  if (args.includes("-h") || args.includes("--help")) {
    process.stdout.write(
      `usage: npm run tlc [-- [--budget-seconds N] [--allow-incomplete] CFG...]\n` +
        `  default CFGs: ${ciConfigs.map((c) => `spec/${c}`).join(" ")}\n` +
        `  --budget-seconds N  stop each TLC run after N seconds (reported as result=incomplete)\n` +
        `  --allow-incomplete  exit 0 when runs ran out of budget without finding a violation\n`,
    )
    return
  }
  const budgetAt = args.indexOf("--budget-seconds")
  const budgetSeconds = budgetAt >= 0 ? Number(args[budgetAt + 1]) : Infinity
  if (budgetAt >= 0 && !(budgetSeconds > 0)) fail("--budget-seconds needs a positive number")
  const allowIncomplete = args.includes("--allow-incomplete")
  // Without --budget-seconds (budgetAt = -1) no position is the budget's.
  args = args.filter(
    (a, k) => a !== "--allow-incomplete" && (budgetAt < 0 || (k !== budgetAt && k !== budgetAt + 1)),
  )
  const jar = findJar()
  checkJava()
  runSany(jar, join(specDir, "Raft.tla"))
  const cfgs = args.length > 0 ? args.map(resolveCfg) : ciConfigs.map((c) => join(specDir, c))
  let failed = false
  for (const cfg of cfgs) {
    // One TLC at a time: each already uses every core.
    const s = await runTlc(jar, cfg, budgetSeconds)
    process.stdout.write(
      `tlc: cfg=${s.cfg} distinct=${show(s.distinct)} states=${show(s.states)} depth=${show(s.depth)} ` +
        `seconds=${String(s.seconds)} result=${s.result}\n`,
    )
    if (s.result === "incomplete") {
      process.stdout.write(
        `tlc: ${s.cfg} ran out of its ${String(budgetSeconds)} s budget: no violation among the ` +
          `${show(s.distinct)} distinct states explored, but the search did not finish\n`,
      )
      if (!allowIncomplete) failed = true
    } else if (s.result !== "ok") {
      failed = true
      process.stdout.write(`tlc: see ${relative(repoRoot, s.log)} for TLC's output\n`)
    }
  }
  process.exitCode = failed ? 1 : 0
}

await main()
