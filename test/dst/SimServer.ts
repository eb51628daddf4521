// One simulated member: the real RaftNode and ServerMachine over the simulated disk and network,
// plus what EtcdServer does around them (the ticker, request expiry, lease expiry on the leader).
// A member is up, paused (everything addressed to it waits) or down (crashed: it keeps only its
// disk). Each start is a new incarnation built from what the disk recovers, as a real restart.
import {
  minLeaseTtlSeconds, range, rangeRequest, utf8, type KvCommand, type KvResult, type LeaseId,
} from "../../src/kv/index.ts"
import type { Storage } from "../../src/raft/Api.ts"
import type { BugName } from "../../src/raft/Bugs.ts"
import type { TraceEvent } from "../../src/raft/Trace.ts"
import type { Entry, Message, NodeId } from "../../src/raft/Types.ts"
import { LeaseClock } from "../../src/server/LeaseClock.ts"
import { Members } from "../../src/server/Members.ts"
import type { NodeLoopBug, NodeLoopEvent } from "../../src/server/NodeTrace.ts"
import { RaftNode, type Applied, type StateMachine } from "../../src/server/RaftNode.ts"
import { proposeKv, ServerMachine } from "../../src/server/ServerMachine.ts"
import type { Prng } from "./Prng.ts"
import type { Scheduler, SimMs } from "./Scheduler.ts"
import type { SimDisk } from "./SimDisk.ts"
import type { SimNetwork } from "./SimNetwork.ts"

export const TICK_MS = 100
export const ELECTION_TIMEOUT_TICKS = 10
/**
 * etcd waits 5 s plus two election timeouts; three election timeouts keep the same order (longer
 * than an election) while a client stuck on a lost request costs less simulated time.
 */
export const REQUEST_TIMEOUT_MS = 3 * ELECTION_TIMEOUT_TICKS * TICK_MS
/** Expired leases revoked per tick at most, as EtcdServer. */
const LEASE_REVOKES_PER_TICK_MAX = 16

/** The key a lease's one key lives under. */
export const leaseKey = (lease: LeaseId): string => `lease/${lease.toString(16)}`

export interface ServerOptions {
  readonly snapshotCount: number
  /** The cores' O(n) invariant checks after every step (src/raft/Invariants.ts). */
  readonly verify: boolean
  readonly coreBugs: ReadonlySet<BugName>
  readonly nodeLoopBugs: ReadonlySet<NodeLoopBug>
  readonly coreTrace: ((event: TraceEvent) => void) | undefined
  readonly nodeLoopTrace: ((event: NodeLoopEvent) => void) | undefined
  /** Called with every entry a replica applies (for the state-machine-safety check). */
  readonly onApply: (id: NodeId, entry: Entry) => void
  /** Called after a revoke was applied, with the store that applied it. */
  readonly onLeaseRevoked: (id: NodeId, lease: LeaseId, keyStillThere: boolean) => void
  /** The leader proposed the revoke of an expired lease. */
  readonly onLeaseExpired: () => void
  /** The node stopped on an error it cannot survive (an assertion): a failure of the run. */
  readonly onFatal: (id: NodeId, error: Error) => void
  readonly onRestart: ((id: NodeId, storage: Storage) => void) | undefined
  /** ReadIndex contexts, one counter for the whole cluster. */
  readonly newReadContext: () => number
  /** A Raft message the node had received but not stepped when it crashed. */
  readonly onLost?: ((message: Message) => void) | undefined
}

export type ServerState = "up" | "paused" | "down"

export class SimServer {
  readonly id: NodeId
  state: ServerState = "down"
  node: RaftNode | undefined
  machine: ServerMachine | undefined
  /** Bumped by each crash: callbacks of an older incarnation are dropped. */
  private incarnation = 0
  /** What arrived while paused, in arrival order (with what to do if a crash loses it). */
  private backlog: Array<{ readonly run: () => void; readonly lost: (() => void) | undefined }> = []
  private tickQueued = false
  private leading = false
  private leaseClock = new LeaseClock()

  private readonly scheduler: Scheduler
  private readonly prng: Prng
  private readonly voters: ReadonlyArray<NodeId>
  private readonly disk: SimDisk
  private readonly network: SimNetwork
  private readonly options: ServerOptions

  constructor(
    id: NodeId, voters: ReadonlyArray<NodeId>, scheduler: Scheduler, prng: Prng, disk: SimDisk, network: SimNetwork,
    options: ServerOptions,
  ) {
    this.id = id
    this.voters = voters
    this.scheduler = scheduler
    this.prng = prng
    this.disk = disk
    this.network = network
    this.options = options
  }

  /** Starts a new incarnation from the disk (a fresh member the first time). */
  start(): void {
    const incarnation = ++this.incarnation
    const storage = this.disk.recover()
    this.options.onRestart?.(this.id, storage)
    const kvConfig = { minLeaseTtlSeconds: minLeaseTtlSeconds(ELECTION_TIMEOUT_TICKS, TICK_MS) }
    const members = this.voters.map((id) => ({ id: BigInt(id), name: `n${id}`, peerUrls: [] }))
    const machine = new ServerMachine(kvConfig, Members.bootstrap(members))
    this.leaseClock = new LeaseClock()
    this.leading = false
    machine.onKvApplied = (command, result) => this.kvApplied(machine, command, result)
    const alive = (): boolean => this.incarnation === incarnation
    const node = new RaftNode(
      {
        raft: {
          id: this.id,
          electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
          heartbeatTimeoutTicks: 1,
          preVote: true,
          checkQuorum: true,
          appendEntriesCountMax: 64,
          inflightCountMax: 16,
          seed: this.prng.nextU32(),
          verify: this.options.verify,
          bugs: this.options.coreBugs,
          ...(this.options.coreTrace === undefined ? {} : { trace: this.options.coreTrace }),
        },
        snapshotCount: this.options.snapshotCount,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        nowMs: () => this.scheduler.nowMs,
        defer: (run) => this.scheduler.after(0, `turn ${this.id}`, () => this.runIf(incarnation, run)),
        requestIdStart: this.prng.nextBig44(),
        // Contexts unique across members and incarnations (spec/Raft.tla's ReadIndex wants it).
        newReadContext: this.options.newReadContext,
        bugs: this.options.nodeLoopBugs,
        ...(this.options.nodeLoopTrace === undefined ? {} : { trace: this.options.nodeLoopTrace }),
      },
      storage,
      this.disk.open((run) => this.runIf(incarnation, run)),
      this.network.transportFor(this.id, alive),
      new ObservedMachine(machine, (entry) => this.options.onApply(this.id, entry)),
    )
    node.onFatal = (error) => {
      if (alive()) this.options.onFatal(this.id, error)
    }
    this.node = node
    this.machine = machine
    this.state = "up"
    this.scheduler.after(this.prng.between(1, TICK_MS), `tick ${this.id}`, () => this.tick(incarnation))
  }

  /** Power loss: the node is gone with its unsynced writes; requests to it get no answer. */
  crash(): void {
    if (this.state === "down") return
    this.incarnation++
    this.state = "down"
    const backlog = this.backlog
    this.backlog = []
    for (const item of backlog) item.lost?.()
    // Messages handed to the node but not yet stepped die with it.
    for (const input of this.node?.pendingInputs ?? []) if (input.type === "Message") this.options.onLost?.(input.message)
    this.tickQueued = false
    this.node?.stop()
    this.disk.crash()
    this.node = undefined
    this.machine = undefined
  }

  pause(): void {
    if (this.state === "up") this.state = "paused"
  }

  /** Runs what queued up while paused, one event each, in arrival order. */
  resume(): void {
    if (this.state !== "paused") return
    this.state = "up"
    const incarnation = this.incarnation
    for (const { run, lost } of this.backlog.splice(0)) {
      this.scheduler.after(0, `resumed ${this.id}`, () => this.runIf(incarnation, run, lost))
    }
    this.tickQueued = false
  }

  /** Hands `act` to the current incarnation: now if up, later if paused, never if down (`lost`). */
  receive(act: (node: RaftNode) => void, lost?: () => void): void {
    this.runIf(this.incarnation, () => act(this.node!), lost)
  }

  /** A client's write: replicated, answered once applied here. Throws at once if down. */
  propose(command: KvCommand): Promise<KvResult> {
    if (this.node === undefined) return Promise.reject(new Error("connection refused"))
    return proposeKv(this.node, command)
  }

  /** A client's linearizable read (ReadIndex, then the local store), as EtcdServer's range. */
  async linearizableGet(key: string): Promise<string | null> {
    const node = this.node
    const machine = this.machine
    if (node === undefined || machine === undefined) throw new Error("connection refused")
    await node.linearizableBarrier()
    const result = range(machine.store, rangeRequest({ key: utf8(key) }))
    if (result.type === "Error") throw new Error(result.error.message)
    const kv = result.response.kvs[0]
    return kv === undefined ? null : new TextDecoder().decode(kv.value)
  }

  private runIf(incarnation: number, run: () => void, lost?: () => void): void {
    if (incarnation !== this.incarnation || this.state === "down") lost?.()
    else if (this.state === "paused") this.backlog.push({ run, lost })
    else run()
  }

  /** EtcdServer's ticker: a Raft tick, request expiry, and on the leader lease expiry. */
  private tick(incarnation: number): void {
    if (incarnation !== this.incarnation) return
    this.scheduler.after(TICK_MS, `tick ${this.id}`, () => this.tick(incarnation))
    if (this.state === "paused") {
      // Like a timer in a stopped process: missed ticks fire once on resume, not once each.
      if (!this.tickQueued) this.backlog.push({ run: () => this.tickNow(), lost: undefined })
      this.tickQueued = true
      return
    }
    this.tickNow()
  }

  private tickNow(): void {
    const node = this.node!
    const machine = this.machine!
    node.push({ type: "Tick" })
    node.expireRequests()
    const nowMs = this.scheduler.nowMs
    if (node.role !== "Leader") {
      this.leading = false
      return
    }
    if (!this.leading) {
      this.leading = true
      this.leaseClock.promote(machine.store.leases.values(), nowMs, ELECTION_TIMEOUT_TICKS * TICK_MS)
    }
    for (const id of this.leaseClock.takeExpired(nowMs, LEASE_REVOKES_PER_TICK_MAX)) {
      this.options.onLeaseExpired()
      const leaseClock = this.leaseClock
      proposeKv(node, { type: "LeaseRevoke", request: { id } }).then(
        (result) => {
          if (result.type === "Error") leaseClock.revoked(id) // already gone
        },
        () => leaseClock.revokeFailed(id),
      )
    }
  }

  private kvApplied(machine: ServerMachine, command: KvCommand, result: KvResult): void {
    const nowMs: SimMs = this.scheduler.nowMs
    if (result.type === "LeaseGrant") this.leaseClock.granted(result.response.id, result.response.ttl, nowMs)
    else if (command.type === "LeaseRevoke") {
      this.leaseClock.revoked(command.request.id)
      if (result.type === "LeaseRevoke") {
        const left = range(machine.store, rangeRequest({ key: utf8(leaseKey(command.request.id)) }))
        const keyStillThere = left.type !== "Range" || left.response.kvs.length > 0
        this.options.onLeaseRevoked(this.id, command.request.id, keyStillThere)
      }
    }
  }
}

/** The machine as the node sees it, reporting each applied entry first. */
class ObservedMachine implements StateMachine {
  private readonly machine: ServerMachine
  private readonly observe: (entry: Entry) => void

  constructor(machine: ServerMachine, observe: (entry: Entry) => void) {
    this.machine = machine
    this.observe = observe
  }

  applyEntry(entry: Entry): Applied {
    this.observe(entry)
    return this.machine.applyEntry(entry)
  }

  snapshot(): Uint8Array {
    return this.machine.snapshot()
  }

  restore(data: Uint8Array): void {
    this.machine.restore(data)
  }
}
