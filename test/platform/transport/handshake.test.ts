// The handshake refuses a node of another cluster, a member it does not know (or that was
// removed), a dialer that expected another member, and another protocol version: with a refusal
// frame, a log line on both sides, and no message delivered.
import { afterEach, describe, expect, it } from "vitest"
import { FrameType } from "../../../src/platform/transport/Frame.ts"
import type { NodeId } from "../../../src/raft/Types.ts"
import { ByteReader } from "../../../src/platform/transport/ByteReader.ts"
import { decodeRefusal } from "../../../src/platform/transport/Handshake.ts"
import { clusterId, heartbeat, memberIds, otherClusterId, raftIdOf, startNode, waitUntil, type Node } from "./TransportKit.ts"
import { helloFrame, rawDial } from "./RawPeer.ts"

const [idA, idB, idC, idD] = memberIds as [bigint, bigint, bigint, bigint]
let nodes: Node[] = []
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.transport.close()))
  nodes = []
})

/** Keeps sending heartbeats from `from` to `to` until `done` (refused peers drop them all). */
async function sendUntil(from: Node, toRaftId: NodeId, done: () => boolean, what: string): Promise<void> {
  let k = 0
  await waitUntil(() => {
    from.transport.send([heartbeat(from.raftId, toRaftId, ++k)])
    return done()
  }, what)
}

describe("peer handshake", () => {
  it("refuses a node of another cluster, and both sides say why", async () => {
    const a = await startNode({ memberId: idA })
    const stranger = await startNode({ memberId: idB, clusterId: otherClusterId })
    nodes = [a, stranger]
    stranger.transport.addPeer(idA, a.raftId, [a.url])
    await sendUntil(stranger, a.raftId, () => a.log.matching(/refused the peer connection/).length >= 3, "three refusals")
    expect(a.log.matching(/refused/)[0]).toMatch(
      /^warn refused the peer connection from 127\.0\.0\.1:\d+: cluster ID mismatch \(local 1c45a0b1c2d3e4f5, remote 9a3f00112233aabb\)$/)
    // The dialer logs the refusal once, not on every retry.
    expect(stranger.log.matching(/refused/)).toStrictEqual([
      `warn peer 127.0.0.1:${a.port} refused the connection: cluster ID mismatch (local 9a3f00112233aabb, remote 1c45a0b1c2d3e4f5)`,
    ])
    expect(a.received).toStrictEqual([])
    expect(stranger.transport.unreachablePeers()).toStrictEqual([idA])
    expect(stranger.transport.peerStats()[0]!.droppedItems).toBeGreaterThan(0)
  })

  it("refuses an unknown member, and a member after its removal", async () => {
    const members = new Set([idA, idB])
    const a = await startNode({ memberId: idA, members })
    const b = await startNode({ memberId: idB })
    const d = await startNode({ memberId: idD })
    nodes = [a, b, d]
    d.transport.addPeer(idA, a.raftId, [a.url])
    b.transport.addPeer(idA, a.raftId, [a.url])
    await sendUntil(d, a.raftId, () => d.log.matching(/refused/).length > 0, "d refused")
    expect(d.log.matching(/refused/)).toStrictEqual([
      `warn peer 127.0.0.1:${a.port} refused the connection: this member (d4e5f60718293a4b) is not a member of its cluster (unknown or removed)`,
    ])
    expect(a.log.matching(/refused/)[0]).toMatch(/member d4e5f60718293a4b is not a member of this cluster \(unknown or removed\)$/)
    // b is a member: its messages arrive. Then a removes it, and b's redials are refused.
    await sendUntil(b, a.raftId, () => a.received.some((m) => m.from === b.raftId), "b's heartbeat")
    expect(a.received.every((m) => m.from === b.raftId)).toBe(true)
    members.delete(idB)
    a.transport.removePeer(idB)
    await waitUntil(() => b.log.matching(/lost the connection to peer a1b2c3d4e5f60718/).length === 1, "b losing its connection")
    await sendUntil(b, a.raftId, () => b.log.matching(/refused the connection: this member \(b2c3d4e5f6071829\)/).length === 1, "b refused")
    expect(b.activity).toStrictEqual([{ memberId: idA, active: true }, { memberId: idA, active: false }])
  })

  it("refuses a dialer that expected another member at that address", async () => {
    const a = await startNode({ memberId: idA })
    const b = await startNode({ memberId: idB })
    nodes = [a, b]
    b.transport.addPeer(idC, raftIdOf(idC), [a.url]) // C's URL misconfigured to point at A
    await sendUntil(b, raftIdOf(idC), () => b.log.matching(/refused/).length > 0, "b refused")
    expect(b.log.matching(/refused/)).toStrictEqual([
      `warn peer 127.0.0.1:${a.port} refused the connection: it is member a1b2c3d4e5f60718, not member c3d4e5f60718293a as expected`,
    ])
    expect(a.log.matching(/refused/)[0]).toMatch(/the dialer expected member c3d4e5f60718293a, but this is member a1b2c3d4e5f60718$/)
    expect(a.received).toStrictEqual([])
  })

  it("refuses another protocol version with a refusal frame, then closes", async () => {
    const a = await startNode({ memberId: idA })
    nodes = [a]
    const raw = await rawDial(a.port)
    raw.socket.write(helloFrame({ version: 2, clusterId, senderMemberId: idB, receiverMemberId: idA }))
    await waitUntil(raw.isClosed, "the refused connection to close")
    expect(raw.replies.map((r) => r.type)).toStrictEqual([FrameType.HelloRefused])
    expect(decodeRefusal(new ByteReader(raw.replies[0]!.payload))).toStrictEqual({ reason: "VersionMismatch", listenerValue: 1n })
    expect(a.log.matching(/refused/)[0]).toMatch(/protocol version mismatch \(local 1, remote 2\)$/)
  })
})
