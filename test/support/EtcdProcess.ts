// A real etcd 3.4 process for tests: loopback ports chosen by the kernel, a fresh temporary data
// directory, readiness by polling /health, and a stop that signals the process by its pid and
// removes the directory. A test run that dies without calling stop() still kills the process
// (the exit hook below), so no etcd outlives its test worker.
import { spawn, type ChildProcess } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { assert } from "../../src/assert.ts"
import { freeLoopbackPort, loopbackHost } from "./FreePort.ts"

/** Set to 1 to let a local run skip the etcd suites when etcd is not installed (never in CI). */
export const skipWithoutEtcdVariable = "VERIKV_SKIP_WITHOUT_ETCD"

const startAttemptsMax = 3
const readyTimeoutMs = 30_000
const stopTimeoutMs = 10_000
const logTailBytesMax = 4_000

export type EtcdAvailability =
  | { readonly available: true; readonly binary: string }
  | { readonly available: false; readonly reason: string }

/** Where the etcd binary is: $ETCD_BIN, or `etcd` on PATH (Debian's etcd-server puts it in /usr/bin). */
export function etcdAvailability(): EtcdAvailability {
  const candidates = process.env.ETCD_BIN
    ? [process.env.ETCD_BIN]
    : (process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, "etcd"))
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return { available: true, binary: candidate }
    } catch {
      // not here; try the next directory
    }
  }
  return {
    available: false,
    reason:
      "etcd is not installed: the differential suite needs real etcd 3.4 " +
      "(apt-get install etcd-server etcd-client, or set ETCD_BIN). " +
      `Set ${skipWithoutEtcdVariable}=1 to skip it in a local run.`,
  }
}

/**
 * Whether a suite that needs etcd should be skipped: only when etcd is missing, the developer
 * asked for it explicitly, and this is not CI (where a missing etcd must fail the run).
 */
export function etcdSuiteSkipped(): boolean {
  const ci = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"
  return !etcdAvailability().available && process.env[skipWithoutEtcdVariable] === "1" && !ci
}

export interface EtcdOptions {
  /** etcd's --max-txn-ops (etcd's default is 128). */
  readonly maxTxnOps?: number
  /** etcd's --max-request-bytes (etcd's default is 1.5 MiB). */
  readonly maxRequestBytes?: number
}

export interface EtcdProcess {
  readonly pid: number
  /** host:port of the client (gRPC) listener. */
  readonly clientEndpoint: string
  readonly dataDir: string
  /** The last lines etcd logged, for failure messages. */
  readonly logTail: () => string
  readonly stop: () => Promise<void>
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdProcess> {
  const availability = etcdAvailability()
  if (!availability.available) throw new Error(availability.reason)
  let lastFailure = ""
  for (let attempt = 1; attempt <= startAttemptsMax; attempt++) {
    const started = await startOnce(availability.binary, options)
    if (started.ok) return started.etcd
    // Most often another process took a port between our probe and etcd's bind: try new ports.
    lastFailure = started.failure
  }
  throw new Error(`etcd did not start after ${startAttemptsMax} attempts:\n${lastFailure}`)
}

type StartOutcome =
  | { readonly ok: true; readonly etcd: EtcdProcess }
  | { readonly ok: false; readonly failure: string }

async function startOnce(binary: string, options: EtcdOptions): Promise<StartOutcome> {
  // tmpfs when there is one: etcd fsyncs every write, and the suite is about semantics, not disks.
  const tempRoot = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
  const workDir = fs.mkdtempSync(path.join(tempRoot, "verikv-etcd-"))
  const dataDir = path.join(workDir, "data")
  const logPath = path.join(workDir, "etcd.log")
  const clientPort = await freeLoopbackPort()
  const peerPort = await freeLoopbackPort()
  const clientUrl = `http://${loopbackHost}:${clientPort}`
  const peerUrl = `http://${loopbackHost}:${peerPort}`
  const args = [
    "--name=verikv-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=verikv-test=${peerUrl}`,
    "--initial-cluster-state=new",
    `--max-txn-ops=${options.maxTxnOps ?? 128}`,
    ...(options.maxRequestBytes === undefined ? [] : [`--max-request-bytes=${options.maxRequestBytes}`]),
    "--logger=zap",
    "--log-outputs=stderr",
    "--log-level=warn",
  ]
  const log = fs.openSync(logPath, "a")
  const child = spawn(binary, args, { stdio: ["ignore", log, log], detached: false })
  fs.closeSync(log)
  const pid = child.pid
  if (pid === undefined) {
    fs.rmSync(workDir, { recursive: true, force: true })
    return { ok: false, failure: `spawning ${binary} failed` }
  }
  const exited = waitForExit(child)
  const killOnExit = () => killQuietly(pid, "SIGKILL")
  process.once("exit", killOnExit)
  const logTail = () => readTail(logPath)
  const stop = () => terminate(pid, exited, stopTimeoutMs, killOnExit, workDir)
  const ready = await waitUntilHealthy(clientUrl, exited)
  if (ready !== "healthy") {
    const failure = `etcd (pid ${pid}, ${clientUrl}) ${ready}; its log ends with:\n${logTail()}`
    await stop()
    return { ok: false, failure }
  }
  return {
    ok: true,
    etcd: { pid, clientEndpoint: `${loopbackHost}:${clientPort}`, dataDir, logTail, stop },
  }
}

async function waitUntilHealthy(clientUrl: string, exited: Promise<string>): Promise<string> {
  let exitReason: string | undefined
  void exited.then((reason) => (exitReason = reason))
  const deadline = Date.now() + readyTimeoutMs
  while (Date.now() < deadline) {
    if (exitReason !== undefined) return `exited early (${exitReason})`
    try {
      const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1_000) })
      const body = (await response.json()) as { health?: unknown }
      if (body.health === "true") return "healthy"
    } catch {
      // not listening yet
    }
    await delay(100)
  }
  return `was not healthy within ${readyTimeoutMs} ms`
}

export function waitForExit(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`))
    child.once("error", (error) => resolve(`spawn error: ${error.message}`))
  })
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  assert(pid > 0, "a pid to signal")
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

/**
 * Stops a process we started: SIGTERM, then SIGKILL if it has not exited within `timeoutMs`;
 * then drops its exit hook and its work directory.
 */
export async function terminate(pid: number, exited: Promise<unknown>, timeoutMs: number, killOnExit: () => void, workDir: string): Promise<void> {
  killQuietly(pid, "SIGTERM")
  const stopped = await Promise.race([exited.then(() => true), delay(timeoutMs).then(() => false)])
  if (!stopped) {
    killQuietly(pid, "SIGKILL")
    await exited
  }
  process.removeListener("exit", killOnExit)
  fs.rmSync(workDir, { recursive: true, force: true })
}

export function readTail(logPath: string): string {
  try {
    const text = fs.readFileSync(logPath, "utf8")
    return text.slice(-logTailBytesMax)
  } catch {
    return "(no log)"
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
