// Three RaftNodes (the real node loop over the real cores) on an in-memory network and disk,
// tracing into one list of server-trace lines, encoded exactly as --experimental-trace-file
// writes them (tests parse them as `validate-traces --server-traces` reads them). A save
// resolves only a few event-loop turns later, so a node loop that sends or applies before its
// save finishes does so, visibly, before the Saved event. Planted bugs go to every node.
import { putRequest, utf8, type KvResult } from "../../src/kv/index.ts"
import { bootstrapStorage, type RaftOptions } from "../../src/raft/Api.ts"
import type { BugName } from "../../src/raft/Bugs.ts"
import { encodeCoreEvent } from "../../src/raft/TraceJson.ts"
import type { Entry, HardState, LogIndex, Message, NodeId, Snapshot } from "../../src/raft/Types.ts"
import { Members } from "../../src/server/Members.ts"
import type { NodeLoopBug } from "../../src/server/NodeTrace.ts"
import { encodeNodeLoopEvent, encodeStart } from "../../src/server/NodeTraceJson.ts"
import { RaftNode, type NodeStorage, type NodeTransport } from "../../src/server/RaftNode.ts"
import { proposeKv, ServerMachine } from "../../src/server/ServerMachine.ts"

/** Event-loop turns a save takes to resolve. */
const saveTurns = 3

const laterTurns = (turns: number): Promise<void> =>
  new Promise((resolve) => {
    const next = (left: number): void => void setImmediate(() => (left === 0 ? resolve() : next(left - 1)))
    next(turns)
  })

class DelayedMemoryStorage implements NodeStorage {
  async save(_hardState: HardState | undefined, _entries: ReadonlyArray<Entry>, _sync: boolean): Promise<void> {
    await laterTurns(saveTurns)
  }
  async saveSnapshot(_snapshot: Snapshot, _installed: boolean): Promise<void> {
    await laterTurns(saveTurns)
  }
}

const ids = [1, 2, 3] as NodeId[]

export interface TracedClusterOptions {
  readonly snapshotCount: number
  readonly bugs?: ReadonlySet<NodeLoopBug>
  /** Bugs of the core's zoo (src/raft/Bugs.ts), planted in every node's core. */
  readonly coreBugs?: ReadonlySet<BugName>
}

export interface TracedCluster {
  readonly nodes: ReadonlyMap<NodeId, RaftNode>
  /** Nodes cut off from the others: every message to or from them is lost. */
  readonly cut: Set<NodeId>
  readonly leader: () => Promise<NodeId>
  readonly put: (id: NodeId, key: string) => Promise<KvResult>
  /** The trace so far, as a file would hold it (one JSON text per line). */
  readonly lines: () => ReadonlyArray<string>
  readonly stop: () => void
}

export function tracedCluster(options: TracedClusterOptions): TracedCluster {
  const nodes = new Map<NodeId, RaftNode>()
  const cut = new Set<NodeId>()
  const lines: string[] = []
  const deliver = (from: NodeId, to: NodeId, act: (node: RaftNode) => void): void => {
    setImmediate(() => {
      const node = nodes.get(to)
      if (node !== undefined && !cut.has(to) && !cut.has(from)) act(node)
    })
  }
  const transportFor = (from: NodeId): NodeTransport => ({
    send: (messages: ReadonlyArray<Message>) => {
      for (const m of messages) deliver(from, m.to, (node) => node.push({ type: "Message", message: m }))
    },
    forwardProposals: (leader, datas) => deliver(from, leader, (node) => node.receiveForwardedProposals(datas)),
    requestReadIndex: (leader, context) => deliver(from, leader, (node) => node.receiveReadIndexRequest(from, context)),
    answerReadIndex: (to, context, index: LogIndex) => deliver(from, to, (node) => node.readIndexAnswered(context, index)),
  })
  for (const id of ids) {
    const machine = new ServerMachine({}, Members.bootstrap(ids.map((id) => ({ id: BigInt(id), name: `n${id}`, peerUrls: [] }))))
    const raft: RaftOptions = {
      id, electionTimeoutTicks: 10, heartbeatTimeoutTicks: 1, preVote: true, checkQuorum: true,
      appendEntriesCountMax: 64, inflightCountMax: 16, seed: id,
      trace: (event) => lines.push(JSON.stringify(encodeCoreEvent(event))),
      ...(options.coreBugs === undefined ? {} : { bugs: options.coreBugs }),
    }
    const recovered = bootstrapStorage({ voters: ids, votersOutgoing: [], learners: [] })
    lines.push(JSON.stringify(encodeStart(raft, recovered)))
    nodes.set(id, new RaftNode(
      {
        raft,
        snapshotCount: options.snapshotCount,
        requestTimeoutMs: 10_000,
        nowMs: () => performance.now(),
        trace: (event) => lines.push(JSON.stringify(encodeNodeLoopEvent(event))),
        ...(options.bugs === undefined ? {} : { bugs: options.bugs }),
      },
      recovered,
      new DelayedMemoryStorage(),
      transportFor(id),
      machine,
    ))
  }
  const ticker = setInterval(() => {
    for (const node of nodes.values()) {
      node.push({ type: "Tick" })
      node.expireRequests()
    }
  }, 5)
  const leader = async (): Promise<NodeId> => {
    for (let k = 0; k < 1000; k++) {
      for (const [id, node] of nodes) if (!cut.has(id) && node.role === "Leader") return id
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error("no leader")
  }
  return {
    nodes,
    cut,
    leader,
    put: (id, key) => proposeKv(nodes.get(id)!, { type: "Put", request: putRequest({ key: utf8(key), value: utf8("v") }) }),
    lines: () => lines,
    stop: () => {
      clearInterval(ticker)
      for (const node of nodes.values()) node.stop()
    },
  }
}

async function writeRounds(c: TracedCluster, through: ReadonlyArray<NodeId>, prefix: string, writes: number): Promise<void> {
  for (let round = 0; round < writes; round += 5) {
    await Promise.all(Array.from({ length: 5 }, (_, n) => c.put(through[n % through.length]!, `${prefix}${round + n}`)))
  }
}

/**
 * Elects a leader and writes through it and a follower; cuts the other follower off, writes
 * more, heals, and waits until that one caught up (by appends, or by a snapshot when the leader
 * compacted past it); then cuts the leader off until another is elected, writes, and heals.
 * Each phase writes in rounds of 5 concurrent puts.
 */
export async function runScenario(c: TracedCluster, writes: number): Promise<void> {
  const first = await c.leader()
  const [follower, lagging] = ids.filter((id) => id !== first) as [NodeId, NodeId]
  await writeRounds(c, [first, follower], "a", writes)
  c.cut.add(lagging)
  await writeRounds(c, [first], "b", writes)
  c.cut.delete(lagging)
  await c.nodes.get(lagging)!.whenApplied(c.nodes.get(first)!.commitIndex)
  c.cut.add(first)
  const second = await c.leader()
  await writeRounds(c, [second], "c", writes)
  c.cut.delete(first)
  await c.nodes.get(first)!.whenApplied(c.nodes.get(second)!.commitIndex)
}

/** Runs the scenario on a fresh traced cluster and returns its trace lines. */
export async function tracedScenario(options: TracedClusterOptions, writes: number): Promise<ReadonlyArray<string>> {
  const c = tracedCluster(options)
  try {
    await runScenario(c, writes)
  } finally {
    c.stop()
  }
  return c.lines()
}
