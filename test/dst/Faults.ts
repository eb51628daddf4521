// Injects the run's faults at times drawn from the seed: partitions that heal later, crashes that
// restart later, pauses that resume later, and leader transfers. Message loss, duplication and
// delay live in SimNetwork, slow fsyncs and torn writes in SimDisk. Which kinds a run uses and
// how often are drawn per seed (swarm testing: a run with no partitions finds other bugs).
import type { NodeId } from "../../src/raft/Types.ts"
import type { FaultCounts } from "./FaultCounts.ts"
import type { Prng } from "./Prng.ts"
import type { Scheduler, SimMs } from "./Scheduler.ts"
import type { SimNetwork } from "./SimNetwork.ts"
import type { SimServer } from "./SimServer.ts"

export const FAULT_ACTIONS = ["partition", "crash", "pause", "leaderTransfer"] as const
export type FaultAction = (typeof FAULT_ACTIONS)[number]

export interface FaultConfig {
  /** Relative weights; 0 switches a kind off for the run. */
  readonly weights: Readonly<Record<FaultAction, number>>
  /** Faults come every [interval / 4, interval] ms. */
  readonly intervalMsMax: SimMs
  /** How long a partition, crash or pause lasts at most. */
  readonly durationMsMax: SimMs
}

/** How often a crash or pause may impair a majority. */
const OUTAGE_PROBABILITY = 0.2

export class FaultInjector {
  private active = true
  private readonly scheduler: Scheduler
  private readonly prng: Prng
  private readonly config: FaultConfig
  private readonly counts: FaultCounts
  private readonly servers: ReadonlyArray<SimServer>
  private readonly network: SimNetwork

  constructor(
    scheduler: Scheduler, prng: Prng, config: FaultConfig, counts: FaultCounts, servers: ReadonlyArray<SimServer>,
    network: SimNetwork,
  ) {
    this.scheduler = scheduler
    this.prng = prng
    this.config = config
    this.counts = counts
    this.servers = servers
    this.network = network
  }

  start(): void {
    this.scheduleNext()
  }

  /** No new faults; heal the network, restart the crashed and resume the paused. */
  healAll(): void {
    this.active = false
    this.network.heal()
    this.network.faultsOn = false
    for (const server of this.servers) {
      if (server.state === "down") server.start()
      else if (server.state === "paused") server.resume()
    }
  }

  private scheduleNext(): void {
    const max = this.config.intervalMsMax
    this.scheduler.after(this.prng.between(Math.ceil(max / 4), max), "fault", () => {
      if (!this.active) return
      this.inject(this.drawAction())
      this.scheduleNext()
    })
  }

  private drawAction(): FaultAction | undefined {
    const total = FAULT_ACTIONS.reduce((sum, action) => sum + this.config.weights[action], 0)
    if (total === 0) return undefined
    let roll = this.prng.below(total)
    for (const action of FAULT_ACTIONS) {
      roll -= this.config.weights[action]
      if (roll < 0) return action
    }
    return undefined
  }

  private inject(action: FaultAction | undefined): void {
    switch (action) {
      case "partition": return this.partition()
      case "crash": return this.crash()
      case "pause": return this.pause()
      case "leaderTransfer": return this.transferLeader()
      case undefined: return
    }
  }

  private duration(): SimMs {
    return this.prng.between(50, this.config.durationMsMax)
  }

  /** Isolates one node, splits the cluster in two, or cuts one direction of one link. */
  private partition(): void {
    if (this.network.partitioned) return
    const ids = this.servers.map((server) => server.id)
    const shape = this.prng.below(3)
    if (shape === 0) this.network.partition([this.prng.pick(ids)], ids)
    else if (shape === 1) this.network.partition(ids.filter(() => this.prng.chance(0.5)), ids)
    else {
      const a = this.prng.pick(ids)
      this.network.cutOneWay(a, this.prng.pick(ids.filter((id) => id !== a)))
    }
    this.counts.partition++
    this.scheduler.after(this.duration(), "heal", () => {
      if (this.active) this.network.heal()
    })
  }

  /** Crashes a live node (the leader half the time) and restarts it later. */
  private crash(): void {
    const server = this.pickLive(this.prng.chance(0.5))
    if (server === undefined) return
    server.crash()
    this.counts.crash++
    this.scheduler.after(this.duration(), `restart ${server.id}`, () => {
      if (server.state === "down") server.start()
    })
  }

  private pause(): void {
    const server = this.pickLive(this.prng.chance(0.3))
    if (server === undefined || server.state !== "up") return
    server.pause()
    this.counts.pause++
    this.scheduler.after(this.duration(), `resume ${server.id}`, () => server.resume())
  }

  private transferLeader(): void {
    const leader = this.servers.find((server) => server.state === "up" && server.node?.role === "Leader")
    if (leader === undefined) return
    const target: NodeId = this.prng.pick(this.servers.filter((server) => server !== leader)).id
    leader.node!.push({ type: "TransferLeader", target })
    this.counts.leaderTransfer++
  }

  /**
   * A member to crash or pause. Mostly only while a majority stays unimpaired: a cluster that is
   * down most of the time leaves a history of unknown outcomes that proves little. A fifth of
   * the time anything goes (whole-cluster outages, where lost unsynced writes bite hardest).
   */
  private pickLive(preferLeader: boolean): SimServer | undefined {
    const impaired = this.servers.filter((server) => server.state !== "up").length
    const minority = Math.floor((this.servers.length - 1) / 2)
    if (impaired >= minority && !this.prng.chance(OUTAGE_PROBABILITY)) return undefined
    const live = this.servers.filter((server) => server.state !== "down")
    if (live.length === 0) return undefined
    const leader = live.find((server) => server.node?.role === "Leader")
    return preferLeader && leader !== undefined ? leader : this.prng.pick(live)
  }
}
