// A verikv process on a data dir that outlives it: started on a kernel-chosen loopback port,
// ready when it logs "serving client requests on <url>", killed by pid (SIGKILL for a crash,
// SIGTERM for a clean stop), and started again on the same dir. Also runs a start that must fail.
import { spawn, type ChildProcess } from "node:child_process"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { assert } from "../../../src/assert.ts"

const mainScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../src/cli/main.ts")
const servingPattern = /serving client requests on http:\/\/(127\.0\.0\.1:\d+)/
const recoveredPattern = /recovered revision (\d+) at applied index (\d+)/
/** A start (recovery included) that takes longer than this is reported as a failure. */
const startBoundMs = 60_000
/** A clean stop that takes longer than this is cut short with SIGKILL (and shows in the exit). */
const stopBoundMs = 10_000

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface RunningServer {
  readonly pid: number
  /** host:port of the gRPC listener. */
  readonly endpoint: string
  /** From spawning the process to its "serving" line: startup plus recovery. */
  readonly startMs: number
  /** From its first log line (modules loaded) to the "serving" line: opening the data dir and replaying it. */
  readonly recoveryMs: number
  /** From the "recovered revision" line. */
  readonly recoveredRevision: number
  readonly recoveredAppliedIndex: number
  readonly log: () => string
  /** SIGKILL: no shutdown code runs, as in a crash. */
  readonly kill9: () => Promise<Exit>
  /** SIGTERM: the clean shutdown path. */
  readonly terminate: () => Promise<Exit>
}

export type StartOutcome =
  | { readonly kind: "Serving"; readonly server: RunningServer }
  | { readonly kind: "Exited"; readonly exit: Exit; readonly log: string }

/** Every server started by this module and not yet seen to exit: killed if the test run dies. */
const live = new Set<number>()
process.once("exit", () => {
  for (const pid of live) killQuietly(pid)
})

function killQuietly(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  assert(pid > 0, "a pid to signal")
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
}

/** Starts verikv on `dataDir` and waits until it serves, or exits, or the bound passes. */
export async function startServer(dataDir: string, flags: ReadonlyArray<string> = []): Promise<StartOutcome> {
  const args = [
    mainScript, "--name=n1", `--data-dir=${dataDir}`,
    "--listen-client-urls=http://127.0.0.1:0", "--advertise-client-urls=http://127.0.0.1:0",
    // Port 0: test files run in parallel, and a fixed peer port (2380 by default) would collide.
    "--listen-peer-urls=http://127.0.0.1:0",
    ...flags,
  ]
  const started = performance.now()
  // process.execPath: the Node running the tests, which test/setup.ts has checked.
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
  const pid = child.pid
  assert(pid !== undefined, "verikv spawned")
  live.add(pid)
  let output = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  const exited = exitOf(child).then((exit) => {
    live.delete(pid)
    return exit
  })
  const serving = new Promise<string>((resolve) => {
    const look = (): void => {
      const match = servingPattern.exec(output)
      if (match !== null) resolve(match[1]!)
    }
    child.stderr!.on("data", look)
    child.stdout!.on("data", look)
  })
  const bound = new Promise<"Bound">((resolve) => setTimeout(resolve, startBoundMs, "Bound").unref())
  const first = await Promise.race([serving, exited, bound])
  if (first === "Bound") {
    killQuietly(pid)
    throw new Error(`verikv (pid ${pid}) neither served nor exited within ${startBoundMs} ms:\n${output}`)
  }
  if (typeof first !== "string") {
    await new Promise((resolve) => setImmediate(resolve)) // let the last output arrive
    return { kind: "Exited", exit: first, log: output }
  }
  const startMs = performance.now() - started
  const recovered = recoveredPattern.exec(output)
  assert(recovered !== null, "verikv logs the recovered revision before serving")
  // Log lines start with an ISO timestamp.
  const lines = output.split("\n")
  const stampOf = (line: string | undefined): number => Date.parse(line?.split(" ")[0] ?? "")
  const recoveryMs = stampOf(lines.find((line) => servingPattern.test(line))) - stampOf(lines[0])
  assert(Number.isFinite(recoveryMs), "verikv log lines start with a timestamp")
  const kill9 = async (): Promise<Exit> => {
    killQuietly(pid)
    return exited
  }
  const terminate = async (): Promise<Exit> => {
    killQuietly(pid, "SIGTERM")
    const timer = setTimeout(() => killQuietly(pid), stopBoundMs)
    const exit = await exited
    clearTimeout(timer)
    return exit
  }
  return {
    kind: "Serving",
    server: {
      pid,
      endpoint: first,
      startMs,
      recoveryMs,
      recoveredRevision: Number(recovered[1]),
      recoveredAppliedIndex: Number(recovered[2]),
      log: () => output,
      kill9,
      terminate,
    },
  }
}

/** Starts verikv and fails the test unless it serves. */
export async function startServing(dataDir: string, flags: ReadonlyArray<string> = []): Promise<RunningServer> {
  const outcome = await startServer(dataDir, flags)
  if (outcome.kind === "Exited") {
    throw new Error(`verikv exited (${JSON.stringify(outcome.exit)}) instead of serving:\n${outcome.log}`)
  }
  return outcome.server
}
