// Three RaftNodes (the real node loop over the real cores) wired through an in-memory network
// and storage: proposals and linearizable reads through followers, and a leader's crash.
import { describe, expect, it } from "vitest"
import { putRequest, rangeRequest, range, utf8, type KvResult } from "../../src/kv/index.ts"
import { bootstrapStorage } from "../../src/raft/Api.ts"
import type { RaftState } from "../../src/raft/Raft.ts"
import type { Entry, HardState, LogIndex, Message, NodeId, Snapshot, SnapshotMeta } from "../../src/raft/Types.ts"
import { Members } from "../../src/server/Members.ts"
import { proposeKv, ServerMachine } from "../../src/server/ServerMachine.ts"
import { RaftNode, type NodeStorage, type NodeTransport } from "../../src/server/RaftNode.ts"

class MemoryStorage implements NodeStorage {
  saves = 0
  async save(_hardState: HardState | undefined, _entries: ReadonlyArray<Entry>, _sync: boolean): Promise<void> {
    this.saves++
  }
  async saveSnapshot(_snapshot: Snapshot, _installed: boolean): Promise<void> {}
}

/** Keeps saved snapshots and reads them back, as DiskStorage does with its snapshot files. */
class SnapshotKeepingStorage extends MemoryStorage {
  readonly saved = new Map<number, Snapshot>()
  reads = 0
  override async saveSnapshot(snapshot: Snapshot, _installed: boolean): Promise<void> {
    this.saved.set(snapshot.meta.index, { meta: snapshot.meta, data: snapshot.data.slice() })
  }
  async readSnapshotData(meta: SnapshotMeta): Promise<Uint8Array> {
    this.reads++
    const snapshot = this.saved.get(meta.index)
    if (snapshot === undefined || snapshot.meta.term !== meta.term) throw new Error(`no snapshot ${meta.index}`)
    return snapshot.data
  }
}

const ids = [1, 2, 3] as NodeId[]

function cluster(newStorage: () => MemoryStorage = () => new MemoryStorage()) {
  const nodes = new Map<NodeId, RaftNode>()
  const down = new Set<NodeId>()
  const deliver = (to: NodeId, act: (node: RaftNode) => void): void => {
    setImmediate(() => {
      const node = nodes.get(to)
      if (node !== undefined && !down.has(to)) act(node)
    })
  }
  const transportFor = (from: NodeId): NodeTransport => ({
    send: (messages: ReadonlyArray<Message>) => {
      if (down.has(from)) return
      for (const m of messages) deliver(m.to, (node) => node.push({ type: "Message", message: m }))
    },
    forwardProposals: (leader, datas) => deliver(leader, (node) => node.receiveForwardedProposals(datas)),
    requestReadIndex: (leader, context) => deliver(leader, (node) => node.receiveReadIndexRequest(from, context)),
    answerReadIndex: (to, context, index: LogIndex) => deliver(to, (node) => node.readIndexAnswered(context, index)),
  })
  const machines = new Map<NodeId, ServerMachine>()
  const storages = new Map(ids.map((id) => [id, newStorage()]))
  for (const id of ids) {
    const machine = new ServerMachine({}, Members.bootstrap(ids.map((id) => ({ id: BigInt(id), name: `n${id}`, peerUrls: [] }))))
    machines.set(id, machine)
    nodes.set(id, new RaftNode(
      {
        raft: { id, electionTimeoutTicks: 10, heartbeatTimeoutTicks: 1, preVote: true, checkQuorum: true, appendEntriesCountMax: 64, inflightCountMax: 16, seed: id },
        snapshotCount: 50,
        requestTimeoutMs: 3000,
        nowMs: () => performance.now(),
      },
      bootstrapStorage({ voters: ids, votersOutgoing: [], learners: [] }),
      storages.get(id)!,
      transportFor(id),
      machine,
    ))
  }
  const ticker = setInterval(() => {
    for (const [id, node] of nodes) if (!down.has(id)) { node.push({ type: "Tick" }); node.expireRequests() }
  }, 5)
  const leader = async (): Promise<NodeId> => {
    for (let k = 0; k < 400; k++) {
      for (const [id, node] of nodes) if (!down.has(id) && node.role === "Leader") return id
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error("no leader")
  }
  return { nodes, machines, storages, down, leader, stop: () => { clearInterval(ticker); for (const n of nodes.values()) n.stop() } }
}

const put = (node: RaftNode, key: string, value: string): Promise<KvResult> =>
  proposeKv(node, { type: "Put", request: putRequest({ key: utf8(key), value: utf8(value) }) })

describe("RaftNode in a 3-member cluster", () => {
  it("serves writes and linearizable reads through followers, and survives the leader's loss", async () => {
    const c = cluster()
    try {
      const first = await c.leader()
      const followers = ids.filter((id) => id !== first)
      // Writes on followers are forwarded; each follower's client gets its own answer.
      const results = await Promise.all(followers.flatMap((id, k) =>
        Array.from({ length: 20 }, (_, n) => put(c.nodes.get(id)!, `f${k}-${n}`, "v"))))
      expect(results.every((r) => r.type === "Put")).toBe(true)
      // A linearizable read on a follower sees every write acknowledged before it started.
      const reader = c.nodes.get(followers[0]!)!
      await put(c.nodes.get(first)!, "last", "written-on-leader")
      await reader.linearizableBarrier()
      const seen = range(c.machines.get(followers[0]!)!.store, rangeRequest({ key: utf8("last") }))
      expect(seen.type === "Range" && new TextDecoder().decode(seen.response.kvs[0]!.value)).toBe("written-on-leader")
      // The leader goes away: the others elect a new one and keep serving.
      c.down.add(first)
      const second = await c.leader()
      expect(second).not.toBe(first)
      const after = await put(c.nodes.get(followers.find((id) => id !== second) ?? second)!, "after", "failover")
      expect(after.type).toBe("Put")
      // Every live replica applied the same store.
      const live = ids.filter((id) => !c.down.has(id))
      await Promise.all(live.map((id) => c.nodes.get(id)!.whenApplied(c.nodes.get(second)!.commitIndex)))
      const [a, b] = live.map((id) => c.machines.get(id)!.snapshot())
      expect(Buffer.from(a!).equals(Buffer.from(b!))).toBe(true)
    } finally {
      c.stop()
    }
  }, 30_000)

  it("keeps snapshots' bytes on disk only, its own and those it installs, and reads them back to catch a follower up", async () => {
    const c = cluster(() => new SnapshotKeepingStorage())
    try {
      const leaderId = await c.leader()
      const lagging = ids.find((id) => id !== leaderId)!
      c.down.add(lagging)
      const leader = c.nodes.get(leaderId)!
      // 130 writes with snapshotCount 50: the leader compacts its log past what `lagging` has.
      for (let n = 0; n < 130; n++) expect((await put(leader, `k${n % 40}`, `v${n}`)).type).toBe("Put")
      // The core holds the placeholder, not a copy of the store (reached into for this check).
      const core = (leader as unknown as { raft: RaftState }).raft
      expect(core.log.snapshot.meta.index).toBeGreaterThanOrEqual(100)
      expect(core.log.snapshot.data.length).toBe(0)
      c.down.delete(lagging)
      await c.nodes.get(lagging)!.whenApplied(leader.commitIndex)
      const storage = c.storages.get(leaderId) as SnapshotKeepingStorage
      expect(storage.reads).toBeGreaterThanOrEqual(1)
      const [a, b] = [leaderId, lagging].map((id) => c.machines.get(id)!.snapshot())
      expect(Buffer.from(a!).equals(Buffer.from(b!))).toBe(true)
      // The follower installed the leader's snapshot: saved whole, and its core holds only the
      // placeholder too, so it can send that snapshot on from disk if it leads one day.
      const followerCore = (c.nodes.get(lagging)! as unknown as { raft: RaftState }).raft
      const installed = followerCore.log.snapshot.meta
      expect(installed.index).toBeGreaterThanOrEqual(100)
      expect(followerCore.log.snapshot.data.length).toBe(0)
      const sent = await storage.readSnapshotData(installed)
      const kept = await (c.storages.get(lagging) as SnapshotKeepingStorage).readSnapshotData(installed)
      expect(kept.length).toBeGreaterThan(1000)
      expect(Buffer.from(kept).equals(Buffer.from(sent))).toBe(true)
    } finally {
      c.stop()
    }
  }, 30_000)
})
