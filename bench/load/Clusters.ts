// The two clusters under test for the cluster bench: three etcd 3.4 members or three verikv
// members on loopback, each with its own data directory under `dataRoot` (a real disk by default,
// so every write pays its fdatasync), the same heartbeat and election timeout for both. A member
// can be killed with SIGKILL and restarted on the same ports and directory. Every process is
// signalled by its pid and the directories are removed at the end.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert } from "../../src/assert.ts"
import { connectEtcd } from "../../test/support/EtcdClient.ts"
import { delay, etcdAvailability, killQuietly, readTail, waitForExit } from "../../test/support/EtcdProcess.ts"
import { freeLoopbackPort, loopbackHost } from "../../test/support/FreePort.ts"
import { verikvCommand, type RunningServer, type ServerKind } from "./Servers.ts"

export const HEARTBEAT_MS = 100
export const ELECTION_TIMEOUT_MS = 1000
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000

export interface Member {
  readonly name: string
  readonly host: string
  readonly port: number
  /** The current process's pid (undefined while killed). */
  readonly pid: () => number | undefined
  /** SIGKILL; resolves once the process has exited. */
  readonly kill: () => Promise<void>
  /** Starts again on the same ports and data directory; resolves once it serves clients. */
  readonly restart: () => Promise<void>
}

export interface RunningCluster {
  readonly kind: ServerKind
  readonly members: ReadonlyArray<Member>
  /** The running member every running member agrees is the leader (polls, bounded). */
  readonly leader: () => Promise<Member>
  /** The load generator's view: every member's client endpoint and pid. */
  readonly asServer: () => RunningServer
  readonly stop: () => Promise<void>
}

interface Ports {
  readonly name: string
  readonly clientUrl: string
  readonly peerUrl: string
  readonly port: number
}

export async function startCluster(kind: ServerKind, dataRoot: string, size = 3): Promise<RunningCluster> {
  const workDir = fs.mkdtempSync(path.join(dataRoot, `verikv-bench-cluster-${kind}-`))
  const ports: Array<Ports> = []
  for (let k = 1; k <= size; k++) {
    const port = await freeLoopbackPort()
    const peerPort = await freeLoopbackPort()
    ports.push({ name: `m${k}`, port, clientUrl: `http://${loopbackHost}:${port}`, peerUrl: `http://${loopbackHost}:${peerPort}` })
  }
  const initialCluster = ports.map((p) => `${p.name}=${p.peerUrl}`).join(",")
  const members = ports.map((p) => createMember(kind, p, workDir, initialCluster))
  const stop = async () => {
    await Promise.all(members.map((m) => m.stopQuietly()))
    fs.rmSync(workDir, { recursive: true, force: true })
  }
  try {
    await Promise.all(members.map((m) => m.restart()))
  } catch (error) {
    await stop()
    throw error
  }
  const cluster: RunningCluster = {
    kind,
    members,
    leader: () => agreedLeader(members),
    asServer: () => {
      const endpoints = members.map((m) => {
        const pid = m.pid()
        assert(pid !== undefined, `member ${m.name} runs`)
        return { pid, host: m.host, port: m.port }
      })
      const first = endpoints[0]!
      return { kind, pid: first.pid, host: first.host, port: first.port, members: endpoints, logTail: () => "", stop }
    },
    stop,
  }
  return cluster
}

function createMember(kind: ServerKind, ports: Ports, workDir: string, initialCluster: string) {
  const dataDir = path.join(workDir, ports.name)
  const logPath = path.join(workDir, `${ports.name}.log`)
  let current: { pid: number; exited: Promise<string>; gone: boolean } | undefined
  let started = false
  const killOnExit = () => (current !== undefined && !current.gone ? killQuietly(current.pid, "SIGKILL") : undefined)
  process.once("exit", killOnExit)

  const args = (): Array<string> => {
    const common = [
      `--name=${ports.name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${ports.clientUrl}`,
      `--advertise-client-urls=${ports.clientUrl}`,
      `--listen-peer-urls=${ports.peerUrl}`,
      `--initial-advertise-peer-urls=${ports.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${started ? "existing" : "new"}`,
      `--initial-cluster-token=bench-${path.basename(workDir)}`,
      `--heartbeat-interval=${HEARTBEAT_MS}`,
      `--election-timeout=${ELECTION_TIMEOUT_MS}`,
    ]
    return kind === "etcd"
      ? [...common, "--logger=zap", "--log-outputs=stderr", "--log-level=warn"]
      : [...verikvCommand().args, ...common, "--log-level=info"]
  }

  const ready = async (logFrom: number): Promise<boolean> => {
    if (kind === "verikv") return fs.readFileSync(logPath, "utf8").slice(logFrom).includes(`serving client requests on ${ports.clientUrl}`)
    try {
      const response = await fetch(`${ports.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) })
      return ((await response.json()) as { health?: unknown }).health === "true"
    } catch {
      return false
    }
  }

  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (current === undefined || current.gone) return
    const state = current
    killQuietly(state.pid, signal)
    const gone = await Promise.race([state.exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)])
    if (!gone) {
      killQuietly(state.pid, "SIGKILL")
      await state.exited
    }
  }

  const restart = async () => {
    assert(current === undefined || current.gone, `member ${ports.name} is not running`)
    const etcd = etcdAvailability()
    if (kind === "etcd" && !etcd.available) throw new Error(etcd.reason)
    const binary = kind === "etcd" ? (etcd.available ? etcd.binary : "etcd") : verikvCommand().binary
    fs.appendFileSync(logPath, `--- bench: starting ${ports.name} ---\n`)
    const logFrom = fs.readFileSync(logPath, "utf8").length
    const log = fs.openSync(logPath, "a")
    const child = spawn(binary, args(), { stdio: ["ignore", log, log] })
    fs.closeSync(log)
    const pid = child.pid
    assert(pid !== undefined, `${kind} ${ports.name} was spawned`)
    const state = { pid, exited: waitForExit(child), gone: false }
    void state.exited.then(() => (state.gone = true))
    current = state
    started = true
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (!(await ready(logFrom))) {
      if (state.gone || Date.now() > deadline) {
        await signalAndWait("SIGKILL")
        throw new Error(`${kind} ${ports.name} did not become ready; its log ends with:\n${readTail(logPath)}`)
      }
      await delay(50)
    }
  }

  return {
    name: ports.name,
    host: loopbackHost,
    port: ports.port,
    pid: () => (current !== undefined && !current.gone ? current.pid : undefined),
    kill: () => signalAndWait("SIGKILL"),
    restart,
    stopQuietly: async () => {
      await signalAndWait("SIGTERM")
      process.removeListener("exit", killOnExit)
    },
  }
}

/** Polls Maintenance.Status on every running member until all name the same running leader. */
async function agreedLeader(members: ReadonlyArray<Member>, timeoutMs = 20_000): Promise<Member> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const running = members.filter((m) => m.pid() !== undefined)
    const statuses = await Promise.all(running.map(async (m) => {
      const client = connectEtcd(`${m.host}:${m.port}`)
      try {
        const outcome = await client.call("Maintenance", "Status", {})
        if (!outcome.ok) return undefined
        const header = outcome.response.header as { memberId?: string } | undefined
        return { member: m, id: header?.memberId, leader: String(outcome.response.leader) }
      } finally {
        client.close()
      }
    }))
    const leaders = new Set(statuses.map((s) => s?.leader))
    const leaderId = statuses[0]?.leader
    if (leaders.size === 1 && leaderId !== undefined && leaderId !== "0") {
      const leader = statuses.find((s) => s?.id === leaderId)
      if (leader !== undefined) return leader.member
    }
    if (Date.now() > deadline) throw new Error(`the running members did not agree on a leader within ${timeoutMs} ms`)
    await delay(100)
  }
}
