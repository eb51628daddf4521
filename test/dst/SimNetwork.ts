// The simulated network behind NodeTransport. Every message gets a delay drawn from the seed, so
// messages on one link overtake each other; while faults are on, messages may also be lost,
// duplicated or held up, and partitions cut directed links until they heal.
//
// Forwarded proposals are never duplicated: the real transport sends them once on a stream, and a
// duplicate would be a second write that etcd would also apply twice (not a Raft fault).
import { assert } from "../../src/assert.ts"
import type { LogIndex, Message, NodeId } from "../../src/raft/Types.ts"
import type { NodeTransport, RaftNode } from "../../src/server/RaftNode.ts"
import type { FaultCounts } from "./FaultCounts.ts"
import type { Prng } from "./Prng.ts"
import type { Scheduler, SimMs } from "./Scheduler.ts"

export interface NetworkConfig {
  readonly latencyMsMin: SimMs
  readonly latencyMsMax: SimMs
  /** A slow message takes up to this long: it is overtaken by later ones on its link. */
  readonly slowMsMax: SimMs
  readonly slowProbability: number
  readonly lossProbability: number
  readonly duplicateProbability: number
}

/** What the network did to a Raft message, for trace validation (spec environment actions). */
export type NetworkEvent =
  | { readonly action: "DropMessage"; readonly message: Message }
  | { readonly action: "DuplicateMessage"; readonly message: Message }

/**
 * Hands `act` to the node `to` (if it is up; queued if it is paused); calls `lost` instead if
 * `to` is down or crashes before running it.
 */
export type Receiver = (to: NodeId, act: (node: RaftNode) => void, lost?: () => void) => void

export class SimNetwork {
  /** Directed links cut by a partition, as "from>to". */
  private readonly cut = new Set<string>()
  /** The latest arrival time scheduled per directed link, to count reorderings. */
  private readonly lastArrivalMs = new Map<string, SimMs>()
  /** Loss, duplication and slow messages happen only while faults are on. */
  faultsOn = true

  private readonly scheduler: Scheduler
  private readonly prng: Prng
  private readonly config: NetworkConfig
  private readonly faults: FaultCounts
  private readonly receive: Receiver
  private readonly onEvent: ((event: NetworkEvent) => void) | undefined
  private readonly onLost: ((message: Message) => void) | undefined

  constructor(
    scheduler: Scheduler,
    prng: Prng,
    config: NetworkConfig,
    faults: FaultCounts,
    receive: Receiver,
    onEvent: ((event: NetworkEvent) => void) | undefined,
    onLost?: (message: Message) => void,
  ) {
    assert(config.latencyMsMin >= 1 && config.latencyMsMin <= config.latencyMsMax, "network: bad latency range")
    this.scheduler = scheduler
    this.prng = prng
    this.config = config
    this.faults = faults
    this.receive = receive
    this.onEvent = onEvent
    this.onLost = onLost
  }

  /** The transport of one node incarnation: nothing leaves once `alive` turns false (a crash). */
  transportFor(from: NodeId, alive: () => boolean): NodeTransport {
    return {
      send: (messages) => {
        if (!alive()) return
        for (const message of messages) this.sendMessage(message)
      },
      forwardProposals: (leader, datas) => {
        if (!alive()) return
        this.carry(from, leader, "forward", false, (node) => node.receiveForwardedProposals(datas))
      },
      requestReadIndex: (leader, context) => {
        if (!alive()) return
        this.carry(from, leader, "readIndex", true, (node) => node.receiveReadIndexRequest(from, context))
      },
      answerReadIndex: (to, context, index: LogIndex) => {
        if (!alive()) return
        this.carry(from, to, "readIndexAnswer", true, (node) => node.readIndexAnswered(context, index))
      },
    }
  }

  /** Cuts both directions between every node of `side` and every node outside it. */
  partition(side: ReadonlyArray<NodeId>, all: ReadonlyArray<NodeId>): void {
    for (const a of side) {
      for (const b of all) {
        if (side.includes(b)) continue
        this.cut.add(`${a}>${b}`)
        this.cut.add(`${b}>${a}`)
      }
    }
  }

  /** Cuts one direction only (a's messages no longer reach b). */
  cutOneWay(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`)
  }

  heal(): void {
    this.cut.clear()
  }

  get partitioned(): boolean {
    return this.cut.size > 0
  }

  private sendMessage(message: Message): void {
    const snapshotTo = message.type === "InstallSnapshotRequest" ? message.to : undefined
    const delivered = this.carry(message.from, message.to, message.type, true, (node) => {
      node.push({ type: "Message", message })
    }, message)
    // The real transport reports a snapshot's fate to the sender, which otherwise waits forever.
    if (snapshotTo !== undefined) {
      const success = delivered !== undefined
      this.scheduler.after(delivered ?? this.config.latencyMsMax, `snapshotReport ${message.from}`, () =>
        this.receive(message.from, (node) => node.push({ type: "SnapshotReport", to: snapshotTo, success })))
    }
  }

  /**
   * Schedules `act` at `to` after a drawn delay, unless the link is cut or the message is lost;
   * returns the delay, or undefined if nothing will arrive.
   */
  private carry(
    from: NodeId, to: NodeId, what: string, duplicable: boolean, act: (node: RaftNode) => void, message?: Message,
  ): SimMs | undefined {
    const link = `${from}>${to}`
    if (this.cut.has(link)) return this.dropped(message)
    if (this.faultsOn && this.prng.chance(this.config.lossProbability)) {
      this.faults.drop++
      return this.dropped(message)
    }
    const delayMs = this.drawDelay(link)
    const label = `m${link} ${what}`
    // A Raft message its receiver never handles (down, or crashed first) is lost: traced as a drop.
    const lost = message === undefined || this.onLost === undefined ? undefined : () => this.onLost!(message)
    this.scheduler.after(delayMs, label, () => this.receive(to, act, lost))
    if (duplicable && this.faultsOn && this.prng.chance(this.config.duplicateProbability)) {
      this.faults.duplicate++
      if (message !== undefined) this.onEvent?.({ action: "DuplicateMessage", message })
      this.scheduler.after(this.drawDelay(link), label, () => this.receive(to, act, lost))
    }
    return delayMs
  }

  private dropped(message: Message | undefined): undefined {
    if (message !== undefined) this.onEvent?.({ action: "DropMessage", message })
    return undefined
  }

  private drawDelay(link: string): SimMs {
    const { latencyMsMin, latencyMsMax, slowMsMax, slowProbability } = this.config
    let delayMs = this.prng.between(latencyMsMin, latencyMsMax)
    if (this.faultsOn && this.prng.chance(slowProbability)) {
      this.faults.slowMessage++
      delayMs = this.prng.between(latencyMsMax, slowMsMax)
    }
    const arrivalMs = this.scheduler.nowMs + delayMs
    const latest = this.lastArrivalMs.get(link) ?? 0
    if (arrivalMs < latest) this.faults.reorder++
    else this.lastArrivalMs.set(link, arrivalMs)
    return delayMs
  }
}
