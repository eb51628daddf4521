// The two servers under test, each a fresh single-member process on loopback ports with a fresh
// data directory: real etcd 3.4 (/usr/bin/etcd, default heartbeat and election timeout) and the
// verikv command run by this Node. Both are stopped by pid and their directories removed.
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "../../src/assert.ts"
import { delay, etcdAvailability, killQuietly, readTail, terminate, waitForExit } from "../../test/support/EtcdProcess.ts"
import { freeLoopbackPort, loopbackHost } from "../../test/support/FreePort.ts"

export type ServerKind = "etcd" | "verikv"

/** What the load generator needs of a server: where to connect, and whose CPU to read. */
export interface LoadTarget {
  readonly pid: number
  readonly host: string
  readonly port: number
  /** For a cluster: every member's endpoint and pid (connections are spread over them, CPU is summed). */
  readonly members?: ReadonlyArray<{ readonly pid: number; readonly host: string; readonly port: number }>
}

export interface RunningServer extends LoadTarget {
  readonly kind: ServerKind
  readonly logTail: () => string
  readonly stop: () => Promise<void>
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/**
 * The verikv command to run: by default this tree built as `npm start` builds it (scripts/build.ts,
 * into a temporary directory, once per bench process, when the first verikv starts: benches that
 * start none, such as bench:grpc, build nothing); VERIKV_BENCH_MAIN runs another entry as it is
 * (another checkout's dist/verikv.js, or a src/cli/main.ts through Node's type stripping).
 */
let built: string | undefined
const verikvMain = (): string => process.env.VERIKV_BENCH_MAIN ?? (built ??= buildThisTree())

function buildThisTree(): string {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-bench-build-"))
  process.once("exit", () => fs.rmSync(outDir, { recursive: true, force: true }))
  execFileSync(process.execPath, [path.join(repoRoot, "scripts/build.ts"), "--out-dir", outDir], { stdio: ["ignore", "ignore", "inherit"] })
  return path.join(outDir, "verikv.js")
}

/** Which verikv ran, for the report: the commit of its checkout (and whether it had local edits), or its path. */
export function describeVerikv(): string {
  const dir = process.env.VERIKV_BENCH_MAIN === undefined ? repoRoot : path.dirname(verikvMain())
  try {
    const git = (...args: Array<string>) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    const top = git("rev-parse", "--show-toplevel")
    const dirty = git("status", "--porcelain", "--", top) !== ""
    return `verikv ${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes" : ""}`
  } catch {
    return `verikv from ${dir}`
  }
}

/** Extra Node flags for verikv, for profiling (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). */
const verikvNodeFlags = (process.env.VERIKV_BENCH_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== "")
/** How to run verikv: this Node, its flags and the command's script. */
export const verikvCommand = (): { readonly binary: string; readonly args: ReadonlyArray<string> } =>
  ({ binary: process.execPath, args: [...verikvNodeFlags, verikvMain()] })
const verikvReadyLine = "serving client requests on"
const readyTimeoutMs = 30_000
const stopTimeoutMs = 10_000

/** Starts a server whose data directory lives under `dataRoot` (a real disk by default: fsync counts). */
export async function startServer(kind: ServerKind, dataRoot: string): Promise<RunningServer> {
  const workDir = fs.mkdtempSync(path.join(dataRoot, `verikv-bench-${kind}-`))
  const dataDir = path.join(workDir, "data")
  const logPath = path.join(workDir, "server.log")
  const port = await freeLoopbackPort()
  const peerPort = await freeLoopbackPort()
  const clientUrl = `http://${loopbackHost}:${port}`
  const peerUrl = `http://${loopbackHost}:${peerPort}`
  const common = [
    "--name=b",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=b=${peerUrl}`,
  ]
  const etcd = etcdAvailability()
  if (kind === "etcd" && !etcd.available) throw new Error(etcd.reason)
  const [binary, args] = kind === "etcd"
    ? [etcd.available ? etcd.binary : "etcd", [...common, "--logger=zap", "--log-outputs=stderr", "--log-level=warn"]]
    : [verikvCommand().binary, [...verikvCommand().args, ...common, "--log-level=info"]]
  const log = fs.openSync(logPath, "a")
  const child = spawn(binary, args, { stdio: ["ignore", log, log] })
  fs.closeSync(log)
  const pid = child.pid
  assert(pid !== undefined, `${kind} was spawned`)
  let exitReason: string | undefined
  const exited = waitForExit(child).then((reason) => (exitReason = reason))
  const killOnExit = () => killQuietly(pid, "SIGKILL")
  process.once("exit", killOnExit)
  const logTail = () => readTail(logPath)
  const stop = () => terminate(pid, exited, stopTimeoutMs, killOnExit, workDir)
  const deadline = Date.now() + readyTimeoutMs
  while (!(await isReady(kind, clientUrl, logPath))) {
    if (exitReason !== undefined || Date.now() > deadline) {
      const tail = logTail()
      await stop()
      throw new Error(`${kind} did not become ready (${exitReason ?? "timeout"}); its log ends with:\n${tail}`)
    }
    await delay(50)
  }
  return { kind, pid, host: loopbackHost, port, logTail, stop }
}

async function isReady(kind: ServerKind, clientUrl: string, logPath: string): Promise<boolean> {
  if (kind === "verikv") return fs.readFileSync(logPath, "utf8").includes(verikvReadyLine)
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1_000) })
    return ((await response.json()) as { health?: unknown }).health === "true"
  } catch {
    return false
  }
}

/** Resident set size of a process, from /proc/<pid>/status VmRSS, in bytes. */
export function residentBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  assert(match !== null, "VmRSS in /proc/<pid>/status")
  return Number(match[1]) * 1024
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/** Linux's USER_HZ: /proc times are in 1/100 s on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100

/** Busy and total jiffies of the whole machine (/proc/stat), to see what else was running. */
export function machineJiffies(): { readonly busy: number; readonly total: number } {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!
  const values = line.trim().split(/\s+/).slice(1).map(Number)
  const total = values.reduce((sum, v) => sum + v, 0)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  return { busy: total - idle, total }
}
