// One deterministic run: N real members (RaftNode + ServerMachine) over a simulated clock,
// network and disks, driven by clients and faults drawn from one seed. The run has four phases:
//   1. faults: `steps` events with clients and faults;
//   2. heal: no new faults or calls; the network heals, crashed members restart, paused ones
//      resume, and calls in flight finish or time out;
//   3. liveness: a leader must emerge and a final write must commit, then every member catches up;
//   4. checks: final reads of every key, then linearizability, equal stores, no lost writes.
import { AssertionFailure } from "../../src/assert.ts"
import { checkHistory, describeOperation, formatHistory, type CheckResult, type History } from "../../src/check/index.ts"
import { putRequest, utf8, type PutRequest } from "../../src/kv/index.ts"
import { isBugName, type BugName } from "../../src/raft/Bugs.ts"
import type { TraceEvent } from "../../src/raft/Trace.ts"
import type { Storage } from "../../src/raft/Api.ts"
import type { NodeId } from "../../src/raft/Types.ts"
import { isNodeLoopBug, type NodeLoopBug, type NodeLoopEvent } from "../../src/server/NodeTrace.ts"
import { AppliedEntries, compareStores, findLostWrite, type Failure, type FailureKind } from "./Checks.ts"
import { zeroFaultCounts, type FaultCounts } from "./FaultCounts.ts"
import { FaultInjector } from "./Faults.ts"
import { HistoryRecorder } from "./HistoryRecorder.ts"
import { Prng } from "./Prng.ts"
import { Scheduler, settle, type SimMs } from "./Scheduler.ts"
import { CLIENT_TIMEOUT_MS, SimClient, type AckedWrite, type ClientContext } from "./SimClient.ts"
import { SimDisk } from "./SimDisk.ts"
import { SimNetwork, type NetworkEvent } from "./SimNetwork.ts"
import { ELECTION_TIMEOUT_TICKS, SimServer, TICK_MS } from "./SimServer.ts"
import { drawSwarm, type SwarmConfig } from "./Swarm.ts"

/** Trace hooks (for trace validation): each is optional and costs nothing when absent. */
export interface SimHooks {
  /** The cores' spec-action events (RaftOptions.trace). */
  readonly core?: (event: TraceEvent) => void
  /** The node loops' events (RaftNodeOptions.trace). */
  readonly nodeLoop?: (event: NodeLoopEvent) => void
  /** Raft messages the network dropped or duplicated. */
  readonly network?: (event: NetworkEvent) => void
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
  /** Changes to the swarm drawn from the seed (e.g. crash-heavy runs for the bug tests). */
  readonly swarm?: (drawn: SwarmConfig) => SwarmConfig
  readonly hooks?: SimHooks
  /** Search steps for the linearizability check. */
  readonly checkStepsMax?: number
}

export interface SimResult {
  readonly seed: number
  readonly steps: number
  readonly nodes: number
  readonly bug: string | undefined
  readonly swarm: SwarmConfig
  readonly simTimeMs: SimMs
  readonly events: number
  /** Operations checked for linearizability (completed ones and ones with unknown outcome). */
  readonly operations: number
  readonly unknownOutcomes: number
  readonly faults: FaultCounts
  readonly check: CheckResult | undefined
  readonly failure: Failure | undefined
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
const FINAL_READER_ID = 1000
const LIVENESS_CLIENT_ID = 1001

export function replayCommand(options: { readonly seed: number; readonly steps: number; readonly nodes: number; readonly bug?: string | undefined }): string {
  const nodes = options.nodes === 3 ? "" : ` --nodes ${options.nodes}`
  const bug = options.bug === undefined ? "" : ` --bug ${options.bug}`
  return `npm run sim -- --seed ${options.seed} --steps ${options.steps}${nodes}${bug}`
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
  private readonly leaseKeys = new Set<string>()
  private failure: Failure | undefined

  constructor(options: SimOptions) {
    this.options = options
    const prng = new Prng(options.seed)
    const drawn = drawSwarm(prng.fork())
    this.swarm = options.swarm === undefined ? drawn : options.swarm(drawn)
    this.recorder = new HistoryRecorder(this.scheduler)
    const ids = Array.from({ length: options.nodes }, (_, k) => (k + 1) as NodeId)
    const hooks = options.hooks ?? {}
    this.network = new SimNetwork(this.scheduler, prng.fork(), this.swarm.network, this.faults,
      (to, act) => this.servers[to - 1]!.receive(act), hooks.network)
    const bugs = parseBug(options.bug)
    for (const id of ids) {
      const disk = new SimDisk(this.scheduler, prng.fork(), this.swarm.disk, this.faults,
        { voters: ids, votersOutgoing: [], learners: [] }, `${id}`)
      this.disks.push(disk)
      this.servers.push(new SimServer(id, ids, this.scheduler, prng.fork(), disk, this.network, {
        snapshotCount: this.swarm.snapshotCount,
        coreBugs: bugs.core,
        nodeLoopBugs: bugs.nodeLoop,
        coreTrace: hooks.core,
        nodeLoopTrace: hooks.nodeLoop,
        onApply: (node, entry) => this.fail(this.applied.observe(node, entry)),
        onLeaseRevoked: (node, lease, keyStillThere) => {
          if (keyStillThere) this.fail({ kind: "leaseKeyAfterRevoke", detail: `node ${node} applied the revoke of lease ${lease.toString(16)} but its key is still there` })
        },
        onFatal: (node, error) => this.fail({
          kind: error instanceof AssertionFailure ? "nodeAssertion" : "exception",
          detail: `node ${node} stopped: ${error.stack ?? error.message}`,
        }),
        onRestart: hooks.restart,
      }))
    }
    const context: ClientContext = {
      scheduler: this.scheduler,
      recorder: this.recorder,
      servers: this.servers,
      acked: this.acked,
      thinkMsMax: this.swarm.thinkMsMax,
      onError: (error) => this.fail({ kind: "exception", detail: error.stack ?? error.message }),
    }
    const keys = Array.from({ length: this.swarm.keys }, (_, k) => `k${k}`)
    for (let k = 0; k < this.swarm.registerClients; k++) this.clients.push(new SimClient(k + 1, "register", keys, prng.fork(), context))
    if (this.swarm.leaseClient) this.clients.push(new SimClient(this.clients.length + 1, "lease", keys, prng.fork(), context))
    this.injector = new FaultInjector(this.scheduler, prng.fork(), this.swarm.faults, this.faults, this.servers, this.network)
  }

  async run(): Promise<SimResult> {
    for (const server of this.servers) this.guard(() => server.start())
    for (const client of this.clients) client.start()
    this.injector.start()
    const faultPhaseEnd = this.options.steps
    await this.runWhile(() => this.scheduler.executed < faultPhaseEnd, Number.MAX_SAFE_INTEGER)
    this.heal()
    await this.runWhile(() => this.clients.some((client) => client.busy), this.scheduler.nowMs + HEAL_MS_MAX)
    await this.liveness()
    await this.finalReads()
    return this.finish()
  }

  private fail(failure: Failure | undefined): void {
    if (failure !== undefined && this.failure === undefined) this.failure = failure
  }

  private guard(action: () => void): void {
    try {
      action()
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error))
      this.fail({ kind: err instanceof AssertionFailure ? "nodeAssertion" : "exception", detail: err.stack ?? err.message })
    }
  }

  /** Runs events while `condition` holds, until `deadlineMs` or the first failure. */
  private async runWhile(condition: () => boolean, deadlineMs: SimMs): Promise<void> {
    while (this.failure === undefined && condition()) {
      const next = this.scheduler.peekTimeMs()
      if (next === undefined || next > deadlineMs) return
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
    if (this.failure !== undefined) return
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
          if (result.type !== "Put") return
          this.recorder.complete(call, { type: "put" })
          this.acked.push({ key: "k0", value: "final", revision: result.response.header.revision })
          written = true
        }, () => {
          inFlight = false // retried on the next leader; this call stays unanswered
        })
      }
      return true
    }, deadlineMs)
    if (this.failure !== undefined) return
    if (!written) {
      const roles = this.servers.map((server) => `${server.id}:${server.state}/${server.node?.role ?? "-"}`).join(" ")
      this.fail({ kind: "liveness", detail: `no final write committed within ${LIVENESS_MS_MAX} ms after healing (${roles})` })
      return
    }
    const caughtUp = (): boolean => {
      const leader = this.leader()
      return leader !== undefined && this.servers.every((server) => server.node !== undefined && server.node.appliedIndex >= leader.node!.commitIndex)
    }
    await this.runWhile(() => !caughtUp(), deadlineMs)
    if (this.failure === undefined && !caughtUp()) {
      const applied = this.servers.map((server) => `${server.id}:${server.node?.appliedIndex}`).join(" ")
      this.fail({ kind: "liveness", detail: `members did not catch up with the leader within ${LIVENESS_MS_MAX} ms (applied ${applied})` })
    }
  }

  /** One linearizable read of every key, through members in turn, so the history ends known. */
  private async finalReads(): Promise<void> {
    if (this.failure !== undefined) return
    const keys = [...new Set(this.recorder.history().map((operation) => operation.command.key))].sort()
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
    if (this.failure === undefined) this.fail(compareStores(this.servers))
    if (this.failure === undefined) this.fail(findLostWrite(this.servers, this.acked))
    const history = this.recorder.history()
    let check: CheckResult | undefined
    if (this.failure === undefined || this.failure.kind !== "exception") {
      check = checkHistory(history, { stepsMax: this.options.checkStepsMax ?? CHECK_STEPS_MAX_DEFAULT })
      if (check.kind === "violation") this.fail({ kind: "linearizability", detail: describeViolation(check) })
    }
    this.scheduler.fold(this.scheduler.nowMs, formatHistory(history))
    return {
      seed: this.options.seed,
      steps: this.options.steps,
      nodes: this.options.nodes,
      bug: this.options.bug,
      swarm: this.swarm,
      simTimeMs: this.scheduler.nowMs,
      events: this.scheduler.executed,
      operations: history.length,
      unknownOutcomes: history.filter((operation) => operation.completion === undefined).length,
      faults: this.faults,
      check,
      failure: this.failure,
      history,
      eventHash: this.scheduler.eventHash.toString(16).padStart(8, "0"),
    }
  }
}

function finalPut(): PutRequest {
  return putRequest({ key: utf8("k0"), value: utf8("final") })
}

function describeViolation(check: Extract<CheckResult, { kind: "violation" }>): string {
  const lines = check.operations.map((operation) => `  ${describeOperation(operation)}`)
  return `key ${JSON.stringify(check.key)} is not linearizable (${check.minimal ? "minimal" : "not minimal"} ` +
    `set of ${check.operations.length} operations; times are ms * 1000):\n${lines.join("\n")}`
}

export { ELECTION_TIMEOUT_TICKS, TICK_MS, type FailureKind }
