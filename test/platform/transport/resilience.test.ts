// Connections come back after a peer restarts; queues stay bounded when a peer is slow, stalled
// or gone, and every drop is counted (Raft resends what matters).
import { afterEach, describe, expect, it } from "vitest"
import type { Message } from "../../../src/raft/Types.ts"
import { logIndex, nodeId, term } from "../../../src/raft/Types.ts"
import { stalledListener } from "./RawPeer.ts"
import { heartbeat, memberIds, startNode, waitUntil, type Node } from "./TransportKit.ts"

const [idA, idB, idC] = memberIds as [bigint, bigint, bigint]
let nodes: Node[] = []
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all([...nodes.map((n) => n.transport.close()), ...cleanups.map((c) => c())])
  nodes = []
  cleanups.length = 0
})

describe("peer transport resilience", () => {
  it("reconnects after the peer's listener restarts on the same port", async () => {
    const a = await startNode({ memberId: idA })
    const b = await startNode({ memberId: idB })
    nodes = [a, b]
    a.transport.addPeer(idB, b.raftId, [b.url])
    let k = 0
    await waitUntil(() => (a.transport.send([heartbeat(a.raftId, b.raftId, ++k)]), b.received.length > 0), "b's first heartbeat")
    await b.transport.close()
    await waitUntil(() => a.activity.length === 2, "a to notice b is gone")
    expect(a.transport.unreachablePeers()).toStrictEqual([idB])
    expect(a.log.matching(/lost the connection/)).toStrictEqual([
      `warn lost the connection to peer b2c3d4e5f6071829: peer 127.0.0.1:${b.port} closed the connection`,
    ])
    // While b is down a's messages are dropped (and counted), not queued for a peer that may not return.
    a.transport.send([heartbeat(a.raftId, b.raftId, ++k)])
    const restarted = await startNode({ memberId: idB, port: b.port })
    nodes = [a, restarted]
    await waitUntil(() => (a.transport.send([heartbeat(a.raftId, b.raftId, ++k)]), restarted.received.length > 0), "a heartbeat after the restart")
    expect(a.activity).toStrictEqual([
      { memberId: idB, active: true }, { memberId: idB, active: false }, { memberId: idB, active: true },
    ])
    expect(a.transport.unreachablePeers()).toStrictEqual([])
    const stats = a.transport.peerStats()[0]!
    expect(stats.droppedItems).toBeGreaterThan(0)
    expect(stats.sentItems + stats.droppedItems + stats.queuedItems).toBe(k)
  })

  it("keeps at most queueItemsMax items per peer and drops the newest beyond it", async () => {
    const a = await startNode({ memberId: idA, limits: { queueItemsMax: 100 } })
    const b = await startNode({ memberId: idB })
    nodes = [a, b]
    a.transport.addPeer(idB, b.raftId, [b.url])
    await waitUntil(() => a.transport.unreachablePeers().length === 0, "a connected to b")
    // 1000 messages in one turn: the first 100 fit the queue, the other 900 are dropped.
    a.transport.send(Array.from({ length: 1000 }, (_, k) => heartbeat(a.raftId, b.raftId, k)))
    expect(a.transport.peerStats()[0]).toMatchObject({ queuedItems: 100, droppedItems: 900 })
    expect(a.transport.sendForward(idB, [Uint8Array.of(1)])).toBe(false)
    await waitUntil(() => b.received.length === 100, "the 100 queued heartbeats")
    expect(b.received.map((m) => (m as Extract<Message, { type: "HeartbeatRequest" }>).context)).toStrictEqual(Array.from({ length: 100 }, (_, k) => k))
    expect(a.log.matching(/dropped \d+ message\(s\) to peer b2c3d4e5f6071829: the send queue is full/).length).toBe(1)
    expect(a.transport.peerStats()[0]).toMatchObject({ queuedItems: 0, sentItems: 100, droppedItems: 901 })
  })

  it("bounds what waits for a stalled peer: its socket buffer and queue fill, then messages drop", async () => {
    const stalled = await stalledListener()
    cleanups.push(stalled.close)
    const a = await startNode({ memberId: idA, limits: { queueItemsMax: 50, socketBufferBytesMax: 1 << 20 } })
    nodes = [a]
    const stalledRaftId = nodeId(Number(idC >> 12n))
    a.transport.addPeer(idC, stalledRaftId, [stalled.url])
    await waitUntil(() => a.transport.unreachablePeers().length === 0, "the handshake with the stalled peer")
    const entry = { term: term(1), index: logIndex(1), type: "Normal" as const, data: new Uint8Array(64 * 1024), config: undefined }
    const append: Message = {
      type: "AppendEntriesRequest", from: a.raftId, to: stalledRaftId, term: term(1),
      prevLogIndex: logIndex(0), prevLogTerm: term(0), entries: [entry], commitIndex: logIndex(0),
    }
    // 64 KiB per message: the kernel's buffers, then ours (1 MiB), then the queue (50) fill up.
    await waitUntil(() => {
      a.transport.send([append, append, append, append])
      return a.transport.peerStats()[0]!.droppedItems > 0
    }, "drops at the stalled peer")
    const stats = a.transport.peerStats()[0]!
    expect(stats.queuedItems).toBe(50)
    expect(stats.state).toBe("connected")
    expect(a.log.matching(/the send queue is full/).length).toBe(1)
  })

  it("counts messages for a Raft ID that is no peer, and fails their snapshots", async () => {
    const a = await startNode({ memberId: idA })
    nodes = [a]
    const stranger = nodeId(4242)
    a.transport.send([
      heartbeat(a.raftId, stranger, 1),
      { type: "InstallSnapshotRequest", from: a.raftId, to: stranger, term: term(1),
        snapshot: { meta: { index: logIndex(1), term: term(1), config: { voters: [], votersOutgoing: [], learners: [] } }, data: new Uint8Array(1) } },
    ])
    expect(a.transport.droppedUnroutable).toBe(2)
    await waitUntil(() => a.snapshotReports.length === 1, "the snapshot report")
    expect(a.snapshotReports).toStrictEqual([{ to: stranger, success: false }])
  })
})

describe("closing", () => {
  it("leaves no socket, server or timer behind", async () => {
    const handles = (): string[] => process.getActiveResourcesInfo().filter((r) => /TCP|Timeout|Immediate/.test(r)).sort()
    const before = handles()
    const a = await startNode({ memberId: idA })
    const b = await startNode({ memberId: idB })
    a.transport.addPeer(idB, b.raftId, [b.url])
    b.transport.addPeer(idA, a.raftId, [a.url])
    a.transport.addPeer(idC, nodeId(Number(idC >> 12n)), ["http://127.0.0.1:1"]) // down: a redial timer runs
    await waitUntil(() => a.transport.unreachablePeers().length === 1 && b.transport.unreachablePeers().length === 0, "connections")
    await waitUntil(() => a.log.matching(/peer 127\.0\.0\.1:1 is unreachable/).length === 1, "the dead peer's first failure")
    a.transport.send([heartbeat(a.raftId, b.raftId, 1)]) // a flush pending at close
    expect(handles().filter((h) => h.startsWith("TCP")).length).toBeGreaterThan(3)
    await Promise.all([a.transport.close(), b.transport.close()])
    // No more of a kind than before (the test runner's own timers come and go). Timers are
    // cleared by close itself; sockets finish closing in a later turn of the event loop.
    const atMostBefore = (kinds: ReadonlyArray<string>): boolean => kinds.every((kind) =>
      handles().filter((h) => h.startsWith(kind)).length <= before.filter((h) => h.startsWith(kind)).length)
    expect(atMostBefore(["Timeout", "Immediate"])).toBe(true)
    await waitUntil(() => atMostBefore(["TCP"]), "every socket to close")
  })
})

describe("peer changes", () => {
  it("reports a snapshot cut off by a lost connection as not sent", async () => {
    const stalled = await stalledListener()
    cleanups.push(stalled.close)
    const a = await startNode({ memberId: idA, limits: { socketBufferBytesMax: 1 << 20 } })
    nodes = [a]
    const stalledRaftId = nodeId(Number(idC >> 12n))
    a.transport.addPeer(idC, stalledRaftId, [stalled.url])
    await waitUntil(() => a.transport.unreachablePeers().length === 0, "the handshake with the stalled peer")
    a.transport.send([{
      type: "InstallSnapshotRequest", from: a.raftId, to: stalledRaftId, term: term(1),
      snapshot: { meta: { index: logIndex(1), term: term(1), config: { voters: [], votersOutgoing: [], learners: [] } }, data: new Uint8Array(32 << 20) },
    }])
    // 32 MiB cannot all be written to a peer that does not read (loopback buffers hold a few
    // MiB); then the peer goes away in the middle of the stream.
    await stalled.close()
    await waitUntil(() => a.snapshotReports.length === 1, "the snapshot report")
    expect(a.snapshotReports).toStrictEqual([{ to: stalledRaftId, success: false }])
  })

  it("dials a peer's new URL after addPeer updates it", async () => {
    const a = await startNode({ memberId: idA })
    const b = await startNode({ memberId: idB })
    nodes = [a, b]
    a.transport.addPeer(idB, b.raftId, ["http://127.0.0.1:1"])
    await waitUntil(() => a.log.matching(/peer 127\.0\.0\.1:1 is unreachable/).length === 1, "the failure at the old URL")
    a.transport.addPeer(idB, b.raftId, [b.url])
    let k = 0
    await waitUntil(() => (a.transport.send([heartbeat(a.raftId, b.raftId, ++k)]), b.received.length > 0), "a heartbeat at the new URL")
    expect(a.transport.peerStats()[0]).toMatchObject({ address: `127.0.0.1:${b.port}`, state: "connected", lastFailure: "" })
  })
})
