// Three real transports on loopback exchange every Raft message type, a multi-MB snapshot in
// chunks, and the server's application frames; every message arrives intact and in order.
import fc from "fast-check"
import { randomBytes } from "node:crypto"
import { afterEach, describe, expect, it } from "vitest"
import type { InstallSnapshotRequest, Message } from "../../../src/raft/Types.ts"
import { logIndex, term } from "../../../src/raft/Types.ts"
import { arbitraryMessage, sampleOfEveryType } from "./Arbitraries.ts"
import { connectAll, heartbeat, memberIds, startNode, waitUntil, type Node } from "./TransportKit.ts"

let nodes: Node[] = []
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.transport.close()))
  nodes = []
})

const from = (node: Node, sender: Node): Message[] => node.received.filter((m) => m.from === sender.raftId)

/** Compares the data with Buffer.equals: vitest's deep equality walks 5 MB byte by byte, slowly. */
function expectSameSnapshot(actual: Message | undefined, expected: InstallSnapshotRequest): void {
  expect(actual?.type).toBe("InstallSnapshotRequest")
  const { snapshot: { data, ...restSnapshot }, ...rest } = actual as InstallSnapshotRequest
  const { snapshot: { data: expectedData, ...expectedRestSnapshot }, ...expectedRest } = expected
  expect({ ...rest, snapshot: restSnapshot }).toStrictEqual({ ...expectedRest, snapshot: expectedRestSnapshot })
  expect(data).toBeInstanceOf(Uint8Array)
  expect(Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(expectedData)).toBe(true)
}

describe("peer transport exchange", () => {
  it("delivers every message type between three members, in order per sender", async () => {
    nodes = await Promise.all(memberIds.slice(0, 3).map((memberId) => startNode({ memberId })))
    connectAll(nodes)
    const sent = new Map<string, Message[]>()
    let seed = 1
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue
        // Every type, then 200 random messages: many per turn, so they go out in batched writes.
        const random = fc.sample(arbitraryMessage, { seed: seed++, numRuns: 200 }).map((m) => ({ ...m, from: a.raftId, to: b.raftId }))
        const messages = [...sampleOfEveryType(a.raftId, b.raftId, seed++), ...random]
        expect(new Set(messages.map((m) => m.type)).size).toBe(8)
        sent.set(`${a.raftId}->${b.raftId}`, messages)
        a.transport.send(messages)
      }
    }
    const expectedCount = (node: Node): number => 2 * 208
    await waitUntil(() => nodes.every((n) => n.received.length === expectedCount(n)), "all messages")
    for (const a of nodes) {
      for (const b of nodes) if (a !== b) expect(from(b, a)).toStrictEqual(structuredClone(sent.get(`${a.raftId}->${b.raftId}`)))
    }
    for (const n of nodes) expect(n.transport.peerStats().every((s) => s.state === "connected" && s.droppedItems === 0)).toBe(true)
  })

  it("streams a multi-MB snapshot in chunks without holding back the messages sent after it", async () => {
    nodes = await Promise.all(memberIds.slice(0, 2).map((memberId) => startNode({ memberId })))
    connectAll(nodes)
    const [a, b] = nodes as [Node, Node]
    await waitUntil(() => a.transport.unreachablePeers().length === 0, "a connected to b")
    const data = new Uint8Array(randomBytes(5 * 1024 * 1024 + 123))
    const snapshot: InstallSnapshotRequest = {
      type: "InstallSnapshotRequest", from: a.raftId, to: b.raftId, term: term(7),
      snapshot: { meta: { index: logIndex(9000), term: term(6), config: { voters: [a.raftId, b.raftId], votersOutgoing: [], learners: [] } }, data },
    }
    a.transport.send([snapshot, heartbeat(a.raftId, b.raftId, 1)])
    for (let k = 2; k <= 50; k++) a.transport.send([heartbeat(a.raftId, b.raftId, k)])
    await waitUntil(() => b.received.length === 51, "the snapshot and 50 heartbeats")
    // The heartbeats queued with it went out first: a follower keeps hearing from its leader
    // while a large snapshot streams (or it would time out and campaign).
    expectSameSnapshot(b.received[50], snapshot)
    const contexts = b.received.flatMap((m) => (m.type === "HeartbeatRequest" ? [m.context] : []))
    expect(contexts).toStrictEqual(Array.from({ length: 50 }, (_, k) => k + 1))
    await waitUntil(() => a.snapshotReports.length === 1, "the snapshot report")
    expect(a.snapshotReports).toStrictEqual([{ to: b.raftId, success: true }])
    // A second snapshot on the same connection is reassembled afresh.
    a.transport.send([{ ...snapshot, term: term(8) }])
    await waitUntil(() => b.received.length === 52, "the second snapshot")
    expectSameSnapshot(b.received[51], { ...snapshot, term: term(8) })
  })

  it("carries forwarded proposals and ReadIndex requests and answers", async () => {
    nodes = await Promise.all(memberIds.slice(0, 2).map((memberId) => startNode({ memberId })))
    connectAll(nodes)
    const [follower, leader] = nodes as [Node, Node]
    await waitUntil(() => nodes.every((n) => n.transport.unreachablePeers().length === 0), "both connected")
    const datas = [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(randomBytes(70_000))]
    expect(follower.transport.sendForward(leader.memberId, datas)).toBe(true)
    expect(follower.transport.sendReadIndexRequest(leader.memberId, { requestId: 41 })).toBe(true)
    expect(follower.transport.sendReadIndexRequest(leader.memberId, { requestId: 2 ** 52 })).toBe(true)
    await waitUntil(() => leader.forwarded.length === 1 && leader.readIndexRequests.length === 2, "the follower's frames")
    expect(leader.forwarded).toStrictEqual([{ from: follower.memberId, datas }])
    expect(leader.readIndexRequests).toStrictEqual([
      { from: follower.memberId, request: { requestId: 41 } },
      { from: follower.memberId, request: { requestId: 2 ** 52 } },
    ])
    leader.transport.sendReadIndexResponse(follower.memberId, { requestId: 41, index: 12345 })
    leader.transport.sendReadIndexResponse(follower.memberId, { requestId: 2 ** 52, error: "etcdserver: leader changed" })
    await waitUntil(() => follower.readIndexResponses.length === 2, "the leader's answers")
    expect(follower.readIndexResponses).toStrictEqual([
      { from: leader.memberId, response: { requestId: 41, index: 12345 } },
      { from: leader.memberId, response: { requestId: 2 ** 52, error: "etcdserver: leader changed" } },
    ])
    // A member the transport does not know: refused at once.
    expect(follower.transport.sendForward(memberIds[3]!, datas)).toBe(false)
  })
})
