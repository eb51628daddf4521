// etcdctl (v3 API) as a child process: one-shot commands with their output and exit code, and
// long-running ones (watch) read while they run and stopped by pid. Every run is bounded in time.
import { spawn, type ChildProcess } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { delay, killQuietly, waitForExit } from "./EtcdProcess.ts"

const commandTimeoutMs = 30_000
const outputWaitMs = 15_000

export interface EtcdctlResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Where etcdctl is: $ETCDCTL_BIN, or `etcdctl` on PATH (Debian's etcd-client). */
export function etcdctlBinary(): string | undefined {
  const candidates = process.env.ETCDCTL_BIN
    ? [process.env.ETCDCTL_BIN]
    : (process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, "etcdctl"))
  return candidates.find((candidate) => {
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function spawnEtcdctl(endpoint: string, args: ReadonlyArray<string>): ChildProcess {
  const binary = etcdctlBinary()
  if (binary === undefined) throw new Error("etcdctl is not installed (apt-get install etcd-client, or set ETCDCTL_BIN)")
  // --endpoints below; no ETCDCTL_* from the environment may redirect or reshape the run.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("ETCDCTL_")))
  env.ETCDCTL_API = "3"
  return spawn(binary, [`--endpoints=${endpoint}`, "--dial-timeout=5s", "--command-timeout=20s", ...args], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  })
}

function collect(child: ChildProcess): { readonly stdout: () => string; readonly stderr: () => string } {
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (stdout += text))
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text))
  return { stdout: () => stdout, stderr: () => stderr }
}

/** Runs `etcdctl <args>` to completion (killed after a bound), feeding it `stdin` if given. */
export async function etcdctl(endpoint: string, args: ReadonlyArray<string>, stdin = "", timeoutMs = commandTimeoutMs): Promise<EtcdctlResult> {
  const child = spawnEtcdctl(endpoint, args)
  const output = collect(child)
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
  child.stdin?.on("error", () => {}) // etcdctl may exit before reading its input (EPIPE)
  child.stdin?.end(stdin)
  const finished = await Promise.race([closed.then(() => true), delay(timeoutMs).then(() => false)])
  if (!finished && child.pid !== undefined) {
    killQuietly(child.pid, "SIGKILL")
    throw new Error(`etcdctl ${args.join(" ")} did not finish within ${timeoutMs} ms; stderr:\n${output.stderr()}`)
  }
  return { code: await closed, stdout: output.stdout(), stderr: output.stderr() }
}

export interface BackgroundEtcdctl {
  readonly output: () => string
  /** Writes to its stdin (e.g. commands for `watch -i`). */
  readonly write: (text: string) => void
  /** Resolves once stdout contains `text`; rejects after a bound. */
  readonly waitFor: (text: string) => Promise<void>
  /** SIGTERM by pid; resolves with everything it printed. */
  readonly stop: () => Promise<EtcdctlResult>
}

/** Starts a long-running etcdctl command, e.g. `watch --prefix p`. */
export function startEtcdctl(endpoint: string, args: ReadonlyArray<string>): BackgroundEtcdctl {
  const child = spawnEtcdctl(endpoint, args)
  const pid = child.pid
  if (pid === undefined) throw new Error(`etcdctl ${args.join(" ")} did not start`)
  const output = collect(child)
  const exited = waitForExit(child)
  const killOnExit = () => killQuietly(pid, "SIGKILL")
  process.once("exit", killOnExit)
  let exitCode: number | null = null
  child.once("exit", (code) => (exitCode = code))
  const waitFor = async (text: string) => {
    const deadline = Date.now() + outputWaitMs
    while (!output.stdout().includes(text)) {
      if (Date.now() > deadline) {
        throw new Error(`etcdctl ${args.join(" ")} printed no ${JSON.stringify(text)} within ${outputWaitMs} ms:\n${output.stdout()}\n${output.stderr()}`)
      }
      await delay(20)
    }
  }
  const stop = async () => {
    killQuietly(pid, "SIGTERM")
    const gone = await Promise.race([exited.then(() => true), delay(5_000).then(() => false)])
    if (!gone) {
      killQuietly(pid, "SIGKILL")
      await exited
    }
    process.removeListener("exit", killOnExit)
    return { code: exitCode, stdout: output.stdout(), stderr: output.stderr() }
  }
  const write = (text: string) => {
    child.stdin?.write(text)
  }
  return { output: output.stdout, write, waitFor, stop }
}
