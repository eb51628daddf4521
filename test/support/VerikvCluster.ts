// A real multi-member verikv cluster for tests: one process per member, each with its own data
// directory and loopback client and peer ports chosen by the kernel, bootstrapped from
// --initial-cluster. Members can be stopped (SIGTERM), killed (SIGKILL), restarted on the same
// ports and directory, and new members can be prepared and started with
// --initial-cluster-state existing (after `member add`). Every process is signalled by its pid;
// a test run that dies without stop() still kills them (exit hook).
import { spawn } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { connectEtcd } from "./EtcdClient.ts"
import { delay, killQuietly, readTail, waitForExit } from "./EtcdProcess.ts"
import { freeLoopbackPort, loopbackHost } from "./FreePort.ts"

const mainScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/main.ts")
const readyLine = "serving client requests on"
const readyTimeoutMs = 30_000
const stopTimeoutMs = 10_000

export interface ClusterOptions {
  /** How many members bootstrap the cluster (3 or 5, typically). */
  readonly size: number
  /** Flags for every member, e.g. ["--snapshot-count=100"]. */
  readonly flags?: ReadonlyArray<string>
  /** --initial-cluster-token (the harness default keeps test clusters apart from any other). */
  readonly token?: string
}

export interface StartOptions {
  readonly initialClusterState: "new" | "existing"
  /** name=peer-url pairs; the default is every member the harness knows. */
  readonly initialCluster?: string
  /** More flags for this start only. */
  readonly flags?: ReadonlyArray<string>
}

export interface ClusterMember {
  readonly name: string
  /** host:port of the client listener. */
  readonly clientEndpoint: string
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  /** The pid of the current process, if one was started. */
  readonly pid: () => number | undefined
  readonly running: () => boolean
  /** Everything this member logged, over all its starts. */
  readonly log: () => string
  readonly logTail: () => string
  /** Starts the process and waits until it serves clients; throws with its log if it does not. */
  readonly start: (options: StartOptions) => Promise<void>
  /** Starts the process without waiting for it to serve (for members expected to refuse). */
  readonly spawn: (options: StartOptions) => void
  /** Resolves with how the current process ended ("exit code 1"), or undefined after `ms`. */
  readonly waitForExit: (ms: number) => Promise<string | undefined>
  /** SIGTERM, then SIGKILL after a bound. */
  readonly stop: () => Promise<void>
  /** SIGKILL: no clean shutdown. */
  readonly kill: () => Promise<void>
  /** Starts again on the same ports and data directory (an existing member). */
  readonly restart: () => Promise<void>
}

export interface VerikvCluster {
  /** Every member the harness knows, in order of creation (removed ones included). */
  readonly members: ReadonlyArray<ClusterMember>
  readonly member: (name: string) => ClusterMember
  /** The members whose process runs. */
  readonly running: () => ReadonlyArray<ClusterMember>
  /** name=peer-url for the given members (all by default), as --initial-cluster takes it. */
  readonly initialCluster: (members?: ReadonlyArray<ClusterMember>) => string
  /** Chooses ports and a directory for a new member; start it after `member add`. */
  readonly prepareMember: (name: string) => Promise<ClusterMember>
  /** The running member that a running member names as leader; polls until one does (bounded). */
  readonly leader: (timeoutMs?: number) => Promise<ClusterMember>
  /** Stops every process by pid and removes the directories. */
  readonly stop: () => Promise<void>
}

/** Attempts at bootstrapping: a port chosen for a member may be taken before it binds it. */
const bootstrapAttemptsMax = 3

export async function startVerikvCluster(options: ClusterOptions): Promise<VerikvCluster> {
  let lastError: unknown
  for (let attempt = 1; attempt <= bootstrapAttemptsMax; attempt++) {
    try {
      return await bootstrapCluster(options)
    } catch (error) {
      lastError = error
      // Only a port taken between our probe and verikv's bind is worth another try.
      if (!String(error).includes("EADDRINUSE")) break
    }
  }
  throw lastError
}

async function bootstrapCluster(options: ClusterOptions): Promise<VerikvCluster> {
  const tempRoot = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir()
  const workDir = fs.mkdtempSync(path.join(tempRoot, "verikv-cluster-"))
  const token = options.token ?? `verikv-test-${path.basename(workDir)}`
  const members: ClusterMember[] = []
  const prepareMember = async (name: string): Promise<ClusterMember> => {
    if (members.some((m) => m.name === name)) throw new Error(`member ${name} exists already`)
    const member = await createMember(name, workDir, () => members, [`--initial-cluster-token=${token}`, ...(options.flags ?? [])])
    members.push(member)
    return member
  }
  const stop = async () => {
    await Promise.all(members.map((m) => m.stop()))
    fs.rmSync(workDir, { recursive: true, force: true })
  }
  try {
    for (let k = 1; k <= options.size; k++) await prepareMember(`n${k}`)
    await Promise.all(members.map((m) => m.start({ initialClusterState: "new" })))
  } catch (error) {
    await stop()
    throw error
  }
  const member = (name: string) => {
    const found = members.find((m) => m.name === name)
    if (found === undefined) throw new Error(`no member ${name}`)
    return found
  }
  return {
    members,
    member,
    running: () => members.filter((m) => m.running()),
    initialCluster: (some = members) => initialClusterOf(some),
    prepareMember,
    leader: (timeoutMs = 20_000) => findLeader(() => members.filter((m) => m.running()), timeoutMs),
    stop,
  }
}

function initialClusterOf(members: ReadonlyArray<ClusterMember>): string {
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(",")
}

async function createMember(
  name: string,
  workDir: string,
  allMembers: () => ReadonlyArray<ClusterMember>,
  clusterFlags: ReadonlyArray<string>,
): Promise<ClusterMember> {
  const clientPort = await freeLoopbackPort()
  const peerPort = await freeLoopbackPort()
  const clientUrl = `http://${loopbackHost}:${clientPort}`
  const peerUrl = `http://${loopbackHost}:${peerPort}`
  const dataDir = path.join(workDir, name)
  const logPath = path.join(workDir, `${name}.log`)
  let current: { readonly pid: number; readonly exited: Promise<string>; exitReason: string | undefined } | undefined
  let lastStart: StartOptions = { initialClusterState: "new" }
  const killOnExit = () => {
    if (current !== undefined) killQuietly(current.pid, "SIGKILL")
  }
  const readLog = () => {
    try {
      return fs.readFileSync(logPath, "utf8")
    } catch {
      return ""
    }
  }
  const running = () => current !== undefined && current.exitReason === undefined

  const spawnProcess = (start: StartOptions) => {
    if (running()) throw new Error(`member ${name} runs already (pid ${current?.pid})`)
    lastStart = start
    const args = [
      mainScript,
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${start.initialCluster ?? initialClusterOf(allMembers())}`,
      `--initial-cluster-state=${start.initialClusterState}`,
      ...clusterFlags,
      ...(start.flags ?? []),
    ]
    fs.appendFileSync(logPath, `--- harness: starting ${name} (${start.initialClusterState}) ---\n`)
    const log = fs.openSync(logPath, "a")
    // process.execPath: the Node running the tests, which test/setup.ts has checked is new enough.
    const child = spawn(process.execPath, args, { stdio: ["ignore", log, log] })
    fs.closeSync(log)
    const pid = child.pid
    if (pid === undefined) throw new Error(`spawning verikv ${name} failed`)
    const state = { pid, exited: waitForExit(child), exitReason: undefined as string | undefined }
    void state.exited.then((reason) => {
      state.exitReason = reason
      fs.appendFileSync(logPath, `--- harness: ${name} (pid ${pid}) ended: ${reason} ---\n`)
    })
    current = state
    process.removeListener("exit", killOnExit)
    process.once("exit", killOnExit)
  }

  const waitForProcessExit = async (ms: number): Promise<string | undefined> => {
    if (current === undefined) return "never started"
    const state = current
    return Promise.race([state.exited, delay(ms).then(() => undefined)])
  }

  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (!running() || current === undefined) return
    const state = current
    killQuietly(state.pid, signal)
    const gone = await Promise.race([state.exited.then(() => true), delay(stopTimeoutMs).then(() => false)])
    if (!gone) {
      killQuietly(state.pid, "SIGKILL")
      await state.exited
    }
  }

  const start = async (options: StartOptions) => {
    const logBefore = readLog().length
    spawnProcess(options)
    const deadline = Date.now() + readyTimeoutMs
    while (!readLog().slice(logBefore).includes(`${readyLine} ${clientUrl}`)) {
      if (!running() || Date.now() > deadline) {
        const why = running() ? `was not ready within ${readyTimeoutMs} ms` : `exited early (${current?.exitReason})`
        await signalAndWait("SIGKILL")
        throw new Error(`verikv ${name} (${clientUrl}) ${why}; its log ends with:\n${readTail(logPath)}`)
      }
      await delay(50)
    }
  }

  return {
    name,
    clientEndpoint: `${loopbackHost}:${clientPort}`,
    clientUrl,
    peerUrl,
    dataDir,
    pid: () => current?.pid,
    running,
    log: readLog,
    logTail: () => readTail(logPath),
    start,
    spawn: spawnProcess,
    waitForExit: waitForProcessExit,
    stop: () => signalAndWait("SIGTERM"),
    kill: () => signalAndWait("SIGKILL"),
    restart: () => start({ ...lastStart, initialClusterState: "existing" }),
  }
}

/** Asks each running member for its status until one names a running member as leader. */
async function findLeader(running: () => ReadonlyArray<ClusterMember>, timeoutMs: number): Promise<ClusterMember> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const member of running()) {
      const client = connectEtcd(member.clientEndpoint)
      try {
        const outcome = await client.call("Maintenance", "Status", {})
        if (!outcome.ok) continue
        const leaderId = String(outcome.response.leader)
        if (leaderId === "0") continue
        for (const candidate of running()) {
          const status = candidate === member ? outcome : await connectAndStatus(candidate)
          const header = status?.ok === true ? (status.response.header as { memberId?: string } | undefined) : undefined
          if (header?.memberId === leaderId) return candidate
        }
      } finally {
        client.close()
      }
    }
    if (Date.now() > deadline) throw new Error(`no running member named a running leader within ${timeoutMs} ms`)
    await delay(100)
  }
}

async function connectAndStatus(member: ClusterMember) {
  const client = connectEtcd(member.clientEndpoint)
  try {
    return await client.call("Maintenance", "Status", {})
  } finally {
    client.close()
  }
}
