// One deterministic run: N real members (RaftNode + ServerMachine) over a simulated clock,
// network and disks, driven by clients and faults drawn from one seed. The run has four phases:
//   1. faults: `steps` events with clients and faults;
//   2. heal: no new faults or calls; the network heals, crashed members restart, paused ones
//      resume, and calls in flight finish or time out;
//   3. liveness: a leader must emerge and a final write must commit, then every member catches up;
//   4. checks: final reads of every key, then linearizability, equal stores, no lost writes.
import { AssertionFailure } from "../../src/assert.ts"
import {
  checkHistory, describeOperation, formatHistory, keysOf, type CheckResult, type History,
} from "../../src/check/index.ts"
import { putRequest, utf8, type PutRequest } from "../../src/kv/index.ts"
import { isBugName, type BugName } from "../../src/raft/Bugs.ts"
import type { TraceEvent } from "../../src/raft/Trace.ts"
import type { Storage } from "../../src/raft/Api.ts"
import type { Message, NodeId } from "../../src/raft/Types.ts"
import { isNodeLoopBug, type NodeLoopBug, type NodeLoopEvent } from "../../src/server/NodeTrace.ts"
import type { RaftNode } from "../../src/server/RaftNode.ts"
import { AppliedEntries, compareStores, findLostWrite, type Failure, type FailureKind } from "./Checks.ts"
import { zeroFaultCounts, type FaultCounts } from "./FaultCounts.ts"
import { FaultInjector } from "./Faults.ts"
import { HistoryRecorder } from "./HistoryRecorder.ts"
import { Prng } from "./Prng.ts"
import { Scheduler, settle, type SimMs } from "./Scheduler.ts"
import { CLIENT_TIMEOUT_MS, SimClient, type AckedWrite, type ClientContext } from "./SimClient.ts"
import { SimDisk } from "./SimDisk.ts"
import { SimNetwork, type NetworkEvent } from "./SimNetwork.ts"
import { ELECTION_TIMEOUT_TICKS, SimServer, TICK_MS, type ServerOptions } from "./SimServer.ts"
import { drawSwarm, type SwarmConfig } from "./Swarm.ts"

/** Trace hooks (for trace validation): each is optional and costs nothing when absent. */
export interface SimHooks {
  /** The cores' spec-action events (RaftOptions.trace). */
  readonly core?: (event: TraceEvent) => void
  /** The node loops' events (RaftNodeOptions.trace). */
  readonly nodeLoop?: (event: NodeLoopEvent) => void
  /** Raft messages the network dropped or duplicated. */
  readonly network?: (event: NetworkEvent) => void
  /** A Raft message lost because its receiver was down or crashed before handling it. */
  readonly lost?: (message: Message) => void
  /** A member (re)started from what its disk recovered. */
  readonly restart?: (node: NodeId, storage: Storage) => void
}

export interface SimOptions {
  readonly seed: number
  /** Events in the fault phase. */
  readonly steps: number
  readonly nodes: number
  /** A planted bug: a core bug (src/raft/Bugs.ts) or a node-loop bug (src/server/NodeTrace.ts). */
  readonly bug?: string
  /** Overrides the crash weight drawn from the seed (crash-heavy runs for the bug tests). */
  readonly crashWeight?: number
  readonly hooks?: SimHooks
  /** The cores' O(n) invariant checks after every step (default on; about 4x slower). */
  readonly verify?: boolean
  /** Search steps for the linearizability check. */
  readonly checkStepsMax?: number
  /**
   * Run to the end after a safety failure (the first of each kind is kept), so that a planted
   * bug's damage shows up where clients see it too: lost writes, non-linearizable histories.
   */
  readonly keepGoing?: boolean
}

export interface SimResult {
  readonly options: SimOptions
  readonly swarm: SwarmConfig
  readonly simTimeMs: SimMs
  readonly events: number
  /** Operations checked for linearizability (completed ones and ones with unknown outcome). */
  readonly operations: number
  readonly unknownOutcomes: number
  /** Revokes of expired leases the leaders proposed (LeaseClock on simulated time). */
  readonly leaseExpiries: number
  readonly faults: FaultCounts
  readonly check: CheckResult | undefined
  /** The first failure, if any. */
  readonly failure: Failure | undefined
  /** Every failure kind seen (only the first unless keepGoing). */
  readonly failures: ReadonlyArray<Failure>
  readonly history: History
  /** Hash of the whole event log and history: equal seeds must give equal hashes. */
  readonly eventHash: string
}

const CHECK_STEPS_MAX_DEFAULT = 2_000_000
/** Bounds on the phases after the faults, in simulated time. */
const HEAL_MS_MAX = CLIENT_TIMEOUT_MS + 1000
const LIVENESS_MS_MAX = 30_000
/** Mid-run store comparisons every this many events. */
const STORE_CHECK_EVERY_EVENTS = 2000
/** Events allowed after the fault phase, per fault-phase step (an event storm is a failure). */
const EVENTS_AFTER_FAULTS_PER_STEP = 20
const FINAL_READER_ID = 1000
const LIVENESS_CLIENT_ID = 1001

/** The command that replays a run (every option that changes it). */
export function replayCommand(options: SimOptions): string {
  const flags = [`--seed ${options.seed}`, `--steps ${options.steps}`]
  if (options.nodes !== 3) flags.push(`--nodes ${options.nodes}`)
  if (options.bug !== undefined) flags.push(`--bug ${options.bug}`)
  if (options.crashWeight !== undefined) flags.push(`--crash-weight ${options.crashWeight}`)
  if (options.keepGoing === true) flags.push("--keep-going")
  if (options.verify === false) flags.push("--no-verify")
  if (options.checkStepsMax !== undefined) flags.push(`--check-steps ${options.checkStepsMax}`)
  return `npm run sim -- ${flags.join(" ")}`
}

function parseBug(bug: string | undefined): { core: Set<BugName>; nodeLoop: Set<NodeLoopBug> } {
  const core = new Set<BugName>()
  const nodeLoop = new Set<NodeLoopBug>()
  if (bug === undefined) return { core, nodeLoop }
  if (isBugName(bug)) core.add(bug)
  else if (isNodeLoopBug(bug)) nodeLoop.add(bug)
  else throw new Error(`unknown bug ${bug}`)
  return { core, nodeLoop }
}

export async function simulate(options: SimOptions): Promise<SimResult> {
  return new Simulation(options).run()
}

class Simulation {
  private readonly options: SimOptions
  private readonly scheduler = new Scheduler()
  private readonly faults = zeroFaultCounts()
  private readonly swarm: SwarmConfig
  private readonly servers: Array<SimServer> = []
  private readonly clients: Array<SimClient> = []
  private readonly recorder: HistoryRecorder
  private readonly acked: Array<AckedWrite> = []
  private readonly applied = new AppliedEntries()
  private readonly network: SimNetwork
  private readonly disks: Array<SimDisk> = []
  private readonly injector: FaultInjector
  private readonly failures: Array<Failure> = []
  private eventsMax = Number.MAX_SAFE_INTEGER
  private leaseExpiries = 0
  private readContexts = 0

  constructor(options: SimOptions) {
    this.options = options
    const prng = new Prng(options.seed)
    this.swarm = drawRunSwarm(prng, options)
    this.recorder = new HistoryRecorder(this.scheduler)
    const hooks = options.hooks ?? {}
    const receive = (to: NodeId, act: (node: RaftNode) => void, lost?: () => void): void =>
      this.servers[to - 1]!.receive(act, lost)
    this.network = new SimNetwork(
      this.scheduler, prng.fork(), this.swarm.network, this.faults, receive, hooks.network, hooks.lost)
    this.addServers(prng, hooks)
    this.addClients(prng)
    this.injector = new FaultInjector(
      this.scheduler, prng.fork(), this.swarm.faults, this.faults, this.servers, this.network)
  }

  private addServers(prng: Prng, hooks: SimHooks): void {
    const ids = Array.from({ length: this.options.nodes }, (_, k) => (k + 1) as NodeId)
    const bugs = parseBug(this.options.bug)
    const options: ServerOptions = {
      snapshotCount: this.swarm.snapshotCount,
      verify: this.options.verify ?? true,
      coreBugs: bugs.core,
      nodeLoopBugs: bugs.nodeLoop,
      coreTrace: hooks.core,
      nodeLoopTrace: hooks.nodeLoop,
      onApply: (node, entry) => this.fail(this.applied.observe(node, entry)),
      onLeaseRevoked: (node, lease, keyStillThere) => {
        if (!keyStillThere) return
        const detail = `node ${node} applied the revoke of lease ${lease.toString(16)} but its key is still there`
        this.fail({ kind: "leaseKeyAfterRevoke", detail })
      },
      onLeaseExpired: () => this.leaseExpiries++,
      onFatal: (node, error) => this.nodeStopped(node, error),
      onRestart: hooks.restart,
      onLost: hooks.lost,
      newReadContext: () => ++this.readContexts,
    }
    const bootstrap = { voters: ids, votersOutgoing: [], learners: [] }
    for (const id of ids) {
      const disk = new SimDisk(this.scheduler, prng.fork(), this.swarm.disk, this.faults, bootstrap, `${id}`)
      this.disks.push(disk)
      this.servers.push(new SimServer(id, ids, this.scheduler, prng.fork(), disk, this.network, options))
    }
  }

  private addClients(prng: Prng): void {
    const context: ClientContext = {
      scheduler: this.scheduler,
      recorder: this.recorder,
      servers: this.servers,
      acked: this.acked,
      thinkMsMax: this.swarm.thinkMsMax,
      onError: (error) => this.fail({ kind: "exception", detail: error.stack ?? error.message }),
    }
    const keys = Array.from({ length: this.swarm.keys }, (_, k) => `k${k}`)
    for (let k = 1; k <= this.swarm.registerClients; k++) {
      this.clients.push(new SimClient(k, "register", keys, prng.fork(), context))
    }
    if (this.swarm.leaseClient) {
      this.clients.push(new SimClient(this.clients.length + 1, "lease", keys, prng.fork(), context))
    }
  }

  async run(): Promise<SimResult> {
    for (const server of this.servers) this.guard(() => server.start())
    for (const client of this.clients) client.start()
    this.injector.start()
    const faultPhaseEnd = this.options.steps
    await this.runWhile(() => this.scheduler.executed < faultPhaseEnd, Number.MAX_SAFE_INTEGER)
    this.eventsMax = this.scheduler.executed + EVENTS_AFTER_FAULTS_PER_STEP * Math.max(this.options.steps, 1000)
    this.heal()
    await this.runWhile(() => this.clients.some((client) => client.busy), this.scheduler.nowMs + HEAL_MS_MAX)
    await this.liveness()
    await this.finalReads()
    return this.finish()
  }

  private fail(failure: Failure | undefined): void {
    if (failure === undefined || this.failures.some((known) => known.kind === failure.kind)) return
    this.failures.push(failure)
  }

  /** A node stopped on an error: a failure; like a supervisor, restart it from its disk. */
  private nodeStopped(node: NodeId, error: Error): void {
    this.fail({
      kind: error instanceof AssertionFailure ? "nodeAssertion" : "exception",
      detail: `node ${node} stopped: ${error.stack ?? error.message}`,
    })
    const server = this.servers[node - 1]!
    server.crash()
    this.scheduler.after(TICK_MS, `restart ${node}`, () => this.guard(() => {
      if (server.state === "down") server.start()
    }))
  }

  /** Whether the run stops: at the first failure, or with keepGoing at the first that ends it. */
  private get stopped(): boolean {
    const ending = (failure: Failure): boolean =>
      !this.options.keepGoing || failure.kind === "exception" || failure.kind === "liveness"
    return this.failures.some(ending)
  }

  private get failure(): Failure | undefined {
    return this.failures[0]
  }

  private guard(action: () => void): void {
    try {
      action()
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error))
      const kind = err instanceof AssertionFailure ? "nodeAssertion" : "exception"
      this.fail({ kind, detail: err.stack ?? err.message })
    }
  }

  /** Runs events while `condition` holds, until `deadlineMs` or the first failure. */
  private async runWhile(condition: () => boolean, deadlineMs: SimMs): Promise<void> {
    while (!this.stopped && condition()) {
      const next = this.scheduler.peekTimeMs()
      if (next === undefined || next > deadlineMs) return
      if (this.scheduler.executed >= this.eventsMax) {
        const detail = `event storm: ${this.scheduler.executed} events by ${this.scheduler.nowMs} ms`
        this.fail({ kind: "liveness", detail })
        return
      }
      this.guard(() => this.scheduler.runNext())
      await settle()
      if (this.scheduler.executed % STORE_CHECK_EVERY_EVENTS === 0) this.fail(compareStores(this.servers))
    }
  }

  private heal(): void {
    for (const client of this.clients) client.stopping = true
    this.guard(() => this.injector.healAll())
    for (const disk of this.disks) disk.faultsOn = false
  }

  private leader(): SimServer | undefined {
    return this.servers.find((server) => server.state === "up" && server.node?.role === "Leader")
  }

  /** A leader emerges and a final write through it commits; then every member catches up. */
  private async liveness(): Promise<void> {
    if (this.stopped) return
    const deadlineMs = this.scheduler.nowMs + LIVENESS_MS_MAX
    let written = false
    let inFlight = false
    await this.runWhile(() => {
      if (written) return false
      const leader = this.leader()
      if (leader !== undefined && !inFlight) {
        inFlight = true
        const call = this.recorder.invoke(LIVENESS_CLIENT_ID, { type: "put", key: "k0", value: "final" })
        leader.propose({ type: "Put", request: finalPut() }).then((result) => {
          if (result.type !== "Put") return this.fail({ kind: "exception", detail: "liveness: a plain put was refused" })
          this.recorder.complete(call, { type: "put" })
          this.acked.push({ key: "k0", value: "final", revision: result.response.header.revision })
          written = true
        }, () => {
          inFlight = false // retried on the next leader; this call stays unanswered
        })
      }
      return true
    }, deadlineMs)
    if (this.stopped) return
    if (!written) {
      const roles = this.servers.map((server) => `${server.id}:${server.state}/${server.node?.role ?? "-"}`)
      const detail = `no final write committed within ${LIVENESS_MS_MAX} ms after healing (${roles.join(" ")})`
      this.fail({ kind: "liveness", detail })
      return
    }
    const caughtUp = (): boolean => {
      const leader = this.leader()
      const commitIndex = leader?.node?.commitIndex
      if (commitIndex === undefined) return false
      return this.servers.every((server) => server.node !== undefined && server.node.appliedIndex >= commitIndex)
    }
    await this.runWhile(() => !caughtUp(), deadlineMs)
    if (!this.stopped && !caughtUp()) {
      const applied = this.servers.map((server) => `${server.id}:${server.node?.appliedIndex}`).join(" ")
      const detail = `members did not catch up with the leader within ${LIVENESS_MS_MAX} ms (applied ${applied})`
      this.fail({ kind: "liveness", detail })
    }
  }

  /** One linearizable read of every key, through members in turn, so the history ends known. */
  private async finalReads(): Promise<void> {
    if (this.stopped) return
    const keys = [...new Set(this.recorder.history().flatMap((operation) => keysOf(operation.command)))].sort()
    let next = 0
    let reading = false
    await this.runWhile(() => {
      if (reading) return true
      if (next >= keys.length) return false
      const key = keys[next]!
      const server = this.servers[next % this.servers.length]!
      next++
      reading = true
      const call = this.recorder.invoke(FINAL_READER_ID, { type: "get", key })
      server.linearizableGet(key).then(
        (read) => this.recorder.complete(call, { type: "get", read }),
        () => {},
      ).finally(() => (reading = false))
      return true
    }, this.scheduler.nowMs + LIVENESS_MS_MAX)
  }

  private finish(): SimResult {
    if (!this.stopped) this.fail(compareStores(this.servers))
    const harnessBroke = this.failures.some((failure) => failure.kind === "exception")
    if (!harnessBroke) this.fail(findLostWrite(this.servers, this.acked))
    const history = this.recorder.history()
    let check: CheckResult | undefined
    if (!harnessBroke) {
      check = checkHistory(history, { stepsMax: this.options.checkStepsMax ?? CHECK_STEPS_MAX_DEFAULT })
      if (check.kind === "violation") this.fail({ kind: "linearizability", detail: describeViolation(check) })
    }
    this.scheduler.fold(this.scheduler.nowMs, formatHistory(history))
    return {
      options: this.options,
      swarm: this.swarm,
      simTimeMs: this.scheduler.nowMs,
      events: this.scheduler.executed,
      operations: history.length,
      unknownOutcomes: history.filter((operation) => operation.completion === undefined).length,
      leaseExpiries: this.leaseExpiries,
      faults: this.faults,
      check,
      failure: this.failure,
      failures: this.failures,
      history,
      eventHash: this.scheduler.eventHash.toString(16).padStart(8, "0"),
    }
  }
}

/** The run's swarm: the first draw of the seed's PRNG, so it can be printed before the run. */
function drawRunSwarm(prng: Prng, options: SimOptions): SwarmConfig {
  const swarm = drawSwarm(prng.fork())
  const crash = options.crashWeight
  if (crash === undefined) return swarm
  return { ...swarm, faults: { ...swarm.faults, weights: { ...swarm.faults.weights, crash } } }
}

/** The swarm a run of `options` will use (what `simulate` draws first). */
export function swarmOf(options: SimOptions): SwarmConfig {
  return drawRunSwarm(new Prng(options.seed), options)
}

function finalPut(): PutRequest {
  return putRequest({ key: utf8("k0"), value: utf8("final") })
}

function describeViolation(check: Extract<CheckResult, { kind: "violation" }>): string {
  const lines = check.operations.map((operation) => `  ${describeOperation(operation)}`)
  return `keys ${check.keys.map((key) => JSON.stringify(key)).join(", ")} are not linearizable (${check.minimal ? "minimal" : "not minimal"} ` +
    `set of ${check.operations.length} operations; times are ms * 1000):\n${lines.join("\n")}`
}

export { ELECTION_TIMEOUT_TICKS, TICK_MS, type FailureKind }
