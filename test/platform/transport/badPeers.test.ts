// Bytes from a misbehaving peer (garbage, an oversized frame, a corrupt checksum, a malformed or
// misaddressed message, silence) drop that one connection with a log line; the transport keeps
// serving its good peers.
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { FrameType } from "../../../src/platform/transport/Frame.ts"
import { nodeId } from "../../../src/raft/Types.ts"
import { frame, helloFrame, messageFrame, rawDial } from "./RawPeer.ts"
import { clusterId, heartbeat, memberIds, startNode, waitUntil, type Node } from "./TransportKit.ts"

const [idA, idB] = memberIds as [bigint, bigint]
let a: Node
let b: Node
let context = 0

beforeEach(async () => {
  a = await startNode({ memberId: idA, limits: { helloTimeoutMs: 300 } })
  b = await startNode({ memberId: idB })
  b.transport.addPeer(idA, a.raftId, [a.url])
  a.transport.addPeer(idB, b.raftId, [b.url]) // so a knows b's Raft ID and checks its messages' `from`
})
afterEach(async () => {
  await Promise.all([a.transport.close(), b.transport.close()])
})

/** The good peer b still gets a heartbeat through to a. */
async function expectStillServing(): Promise<void> {
  const target = ++context
  await waitUntil(() => {
    b.transport.send([heartbeat(b.raftId, a.raftId, target)])
    return a.received.some((m) => m.type === "HeartbeatRequest" && m.context === target)
  }, "a heartbeat from the good peer")
}

/** Sends `bytes` on a fresh raw connection (after a valid hello if `hello`), waits to be dropped. */
async function sendAndExpectDrop(bytes: ReadonlyArray<Buffer>, hello: boolean): Promise<string> {
  const raw = await rawDial(a.port)
  const before = a.log.matching(/dropped the peer connection/).length
  if (hello) raw.socket.write(helloFrame({ clusterId, senderMemberId: idB, receiverMemberId: idA }))
  for (const piece of bytes) raw.socket.write(piece)
  await waitUntil(raw.isClosed, "the transport to close the connection")
  await waitUntil(() => a.log.matching(/dropped the peer connection/).length > before, "the drop's log line")
  return a.log.matching(/dropped the peer connection/)[before]!
}

describe("bad peers", () => {
  it("drops a connection that sends garbage", async () => {
    await expectStillServing()
    const line = await sendAndExpectDrop([Buffer.from("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")], false)
    // "GET " read as a little-endian length is 542393671 bytes.
    expect(line).toMatch(/^warn dropped the peer connection from 127\.0\.0\.1:\d+: frame of 542393671 bytes exceeds the maximum of 67108864$/)
    await expectStillServing()
  })

  it("drops an oversized frame from its header, before and after the handshake", async () => {
    const header = Buffer.alloc(9)
    header.writeUInt32LE(64 * 1024 * 1024 + 1, 0)
    header.writeUInt8(FrameType.RaftMessage, 4)
    expect(await sendAndExpectDrop([header], false)).toMatch(/frame of 67108865 bytes exceeds the maximum of 67108864$/)
    expect(await sendAndExpectDrop([header], true)).toMatch(/\(member b2c3d4e5f6071829\): frame of 67108865 bytes exceeds/)
    await expectStillServing()
  })

  it("drops a frame with a corrupt checksum, before and after the handshake", async () => {
    const hello = helloFrame({ clusterId, senderMemberId: idB, receiverMemberId: idA })
    hello[hello.length - 1]! ^= 0x40
    expect(await sendAndExpectDrop([hello], false)).toMatch(/: frame checksum mismatch \(type 1, 25 bytes\)$/)
    const message = messageFrame(heartbeat(b.raftId, a.raftId, 999))
    message[message.length - 1]! ^= 0x01
    expect(await sendAndExpectDrop([message], true)).toMatch(/: frame checksum mismatch \(type 4, \d+ bytes\)$/)
    expect(a.received.some((m) => m.type === "HeartbeatRequest" && m.context === 999)).toBe(false)
    await expectStillServing()
  })

  it("drops well-framed nonsense: a bad payload, a misaddressed message, a frame out of place", async () => {
    const truncated = frame(FrameType.RaftMessage, (w) => w.u8(5))
    expect(await sendAndExpectDrop([truncated], true)).toMatch(/: truncated from$/)
    const misaddressed = messageFrame(heartbeat(b.raftId, nodeId(12345), 1))
    expect(await sendAndExpectDrop([misaddressed], true)).toMatch(/: a message for node 12345; this is node \d+$/)
    const spoofed = messageFrame(heartbeat(nodeId(777), a.raftId, 1))
    expect(await sendAndExpectDrop([spoofed], true)).toMatch(/: a message from node 777 on the connection of node \d+$/)
    expect(await sendAndExpectDrop([messageFrame(heartbeat(b.raftId, a.raftId, 1))], false)).toMatch(/: frame type 4 before the hello$/)
    const chunkAlone = frame(FrameType.SnapshotChunk, (w) => w.u8(1))
    expect(await sendAndExpectDrop([chunkAlone], true)).toMatch(/: a snapshot chunk without a snapshot head$/)
    await expectStillServing()
  })

  it("drops a connection that never says hello", async () => {
    expect(await sendAndExpectDrop([], false)).toMatch(/: no hello within 300 ms$/)
    await expectStillServing()
  })

  it("closes a member's older connection when it dials again (the old one went stale)", async () => {
    // As member C (b is connected as itself, and would take part).
    const hello = helloFrame({ clusterId, senderMemberId: memberIds[2]!, receiverMemberId: idA })
    const first = await rawDial(a.port)
    first.socket.write(hello)
    await waitUntil(() => first.replies.length === 1, "the first hello accepted")
    const second = await rawDial(a.port)
    second.socket.write(hello)
    await waitUntil(first.isClosed, "the older connection to be closed")
    expect(second.replies.map((r) => r.type)).toStrictEqual([FrameType.HelloAccepted])
    expect(second.isClosed()).toBe(false)
    expect(a.log.matching(/closing a stale peer connection from 127\.0\.0\.1:\d+$/).length).toBeGreaterThan(0)
    await expectStillServing()
  })
})
