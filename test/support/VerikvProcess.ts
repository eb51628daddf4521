// A real verikv process for tests: the verikv command run by the Node that runs the tests, on a
// loopback port chosen by the kernel, with a fresh temporary data directory. Ready once it logs
// that it serves clients; stopped by pid (SIGTERM, then SIGKILL after a bound), its directory
// removed. Like EtcdProcess, a test run that dies without stop() still kills it (exit hook).
import { spawn } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "../../src/assert.ts"
import { delay, killQuietly, readTail, terminate, waitForExit } from "./EtcdProcess.ts"
import { freeLoopbackPort, loopbackHost } from "./FreePort.ts"

const mainScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/main.ts")
const readyLine = "serving client requests on"
const startAttemptsMax = 3
const readyTimeoutMs = 30_000
const stopTimeoutMs = 10_000

export interface VerikvOptions {
  /** --name; the default matches EtcdProcess's member name, so member lists compare. */
  readonly name?: string
  /** More flags, e.g. ["--max-request-bytes=1024"]. */
  readonly flags?: ReadonlyArray<string>
  /** The command's script: src/cli/main.ts by default, or a built dist/verikv.js. */
  readonly main?: string
}

export interface VerikvProcess {
  readonly pid: number
  /** host:port of the client (gRPC) listener. */
  readonly clientEndpoint: string
  readonly dataDir: string
  /** Everything verikv logged so far. */
  readonly log: () => string
  /** The last lines it logged, for failure messages. */
  readonly logTail: () => string
  /** Whether the process is still alive. */
  readonly running: () => boolean
  readonly stop: () => Promise<void>
}

export async function startVerikv(options: VerikvOptions = {}): Promise<VerikvProcess> {
  let lastFailure = ""
  for (let attempt = 1; attempt <= startAttemptsMax; attempt++) {
    const started = await startOnce(options)
    if (started.ok) return started.verikv
    lastFailure = started.failure
    // Only a port taken between our probe and verikv's bind is worth another try.
    if (!started.failure.includes("EADDRINUSE")) break
  }
  throw new Error(`verikv did not start:\n${lastFailure}`)
}

type StartOutcome =
  | { readonly ok: true; readonly verikv: VerikvProcess }
  | { readonly ok: false; readonly failure: string }

async function startOnce(options: VerikvOptions): Promise<StartOutcome> {
  const tempRoot = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
  const workDir = fs.mkdtempSync(path.join(tempRoot, "verikv-server-"))
  const dataDir = path.join(workDir, "data")
  const logPath = path.join(workDir, "verikv.log")
  const clientPort = await freeLoopbackPort()
  const peerPort = await freeLoopbackPort()
  const clientUrl = `http://${loopbackHost}:${clientPort}`
  const peerUrl = `http://${loopbackHost}:${peerPort}`
  const args = [
    options.main ?? mainScript,
    `--name=${options.name ?? "verikv-test"}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    ...(options.flags ?? []),
  ]
  const log = fs.openSync(logPath, "a")
  // process.execPath: the Node running the tests, which test/setup.ts has checked is new enough.
  const child = spawn(process.execPath, args, { stdio: ["ignore", log, log] })
  fs.closeSync(log)
  const pid = child.pid
  if (pid === undefined) {
    fs.rmSync(workDir, { recursive: true, force: true })
    return { ok: false, failure: "spawning verikv failed" }
  }
  let exitReason: string | undefined
  const exited = waitForExit(child).then((reason) => {
    exitReason = reason
    return reason
  })
  const killOnExit = () => killQuietly(pid, "SIGKILL")
  process.once("exit", killOnExit)
  const readLog = () => {
    try {
      return fs.readFileSync(logPath, "utf8")
    } catch {
      return "(no log)"
    }
  }
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= terminate(pid, exited, stopTimeoutMs, killOnExit, workDir)
    return stopped
  }
  const deadline = Date.now() + readyTimeoutMs
  while (!readLog().includes(readyLine)) {
    if (exitReason !== undefined || Date.now() > deadline) {
      const why = exitReason !== undefined ? `exited early (${exitReason})` : `was not ready within ${readyTimeoutMs} ms`
      const failure = `verikv (pid ${pid}, ${clientUrl}) ${why}; its log ends with:\n${readTail(logPath)}`
      await stop()
      return { ok: false, failure }
    }
    await delay(50)
  }
  assert(readLog().includes(`${readyLine} ${clientUrl}`), "verikv serves on the URL it was given")
  return {
    ok: true,
    verikv: {
      pid,
      clientEndpoint: `${loopbackHost}:${clientPort}`,
      dataDir,
      log: readLog,
      logTail: () => readTail(logPath),
      running: () => exitReason === undefined,
      stop,
    },
  }
}
