// Bad peers against a real member's peer port: raw TCP connections that send what no member of
// the cluster would. Each must be dropped (the member closes the connection) with a log line that
// names the connection (its source port) and the reason, and the member must keep serving: puts
// through it and through the others succeed afterwards, and every member reports the same HashKV.
import net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ByteReader } from "../../../src/platform/transport/ByteReader.ts"
import { ByteWriter } from "../../../src/platform/transport/ByteWriter.ts"
import { beginFrame, endFrame, frameHeaderBytes, FrameType } from "../../../src/platform/transport/Frame.ts"
import { decodeRefusal, encodeHello, protocolVersion, type Hello } from "../../../src/platform/transport/Handshake.ts"
import { delay } from "../../support/EtcdProcess.ts"
import { loopbackHost } from "../../support/FreePort.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../../support/VerikvCluster.ts"
import { callMember, hashesAtOneRevision } from "./ClusterChecks.ts"

const timingFlags = ["--heartbeat-interval=100", "--election-timeout=1000"]
/** Longer than the member's hello timeout (5 s), for a connection it must time out itself. */
const closeBoundMs = 10_000
const frameBytesMax = 64 * 1024 * 1024

interface Sent {
  readonly localPort: number
  /** Everything the member sent back before it closed the connection. */
  readonly answer: Buffer
  readonly closedAfterMs: number
}

/** Connects to a peer port, sends `bytes`, and waits (bounded) until the member closes. */
async function sendAndWaitForClose(peerPort: number, bytes: Buffer): Promise<Sent> {
  const socket = net.connect({ host: loopbackHost, port: peerPort })
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve)
      socket.once("error", reject)
    })
    const localPort = socket.localPort!
    const chunks: Buffer[] = []
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    const startMs = performance.now()
    const closed = new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true))
      socket.once("error", () => {}) // a reset also ends it
    })
    socket.write(bytes)
    const timedOut = delay(closeBoundMs).then(() => false)
    const byMember = await Promise.race([closed, timedOut])
    if (!byMember) throw new Error(`the member did not close the connection from port ${localPort} within ${closeBoundMs} ms`)
    return { localPort, answer: Buffer.concat(chunks), closedAfterMs: performance.now() - startMs }
  } finally {
    socket.destroy()
  }
}

function frame(type: FrameType, write: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter()
  const start = beginFrame(w, type)
  write(w)
  endFrame(w, start)
  return Buffer.from(w.take())
}

const helloFrame = (hello: Hello) => frame(FrameType.Hello, (w) => encodeHello(w, hello))

/** A frame header (length, type, checksum) as written by hand. */
function rawHeader(payloadBytes: number, type: number, checksum: number): Buffer {
  const header = Buffer.alloc(frameHeaderBytes)
  header.writeUInt32LE(payloadBytes, 0)
  header.writeUInt8(type, 4)
  header.writeUInt32LE(checksum, 5)
  return header
}

async function idsOf(member: ClusterMember): Promise<{ readonly memberId: bigint; readonly clusterId: bigint }> {
  const status = await callMember(member, "Maintenance", "Status", {})
  if (!status.ok) throw new Error(`Status on ${member.name}: ${status.message}`)
  const header = status.response.header as { memberId: string; clusterId: string }
  return { memberId: BigInt(header.memberId), clusterId: BigInt(header.clusterId) }
}

/** The line of `member`'s log about the connection from `localPort`, once it is there (bounded). */
async function logLineAbout(member: ClusterMember, localPort: number): Promise<string> {
  const needle = `${loopbackHost}:${localPort}`
  const deadline = performance.now() + closeBoundMs
  for (;;) {
    const line = member.log().split("\n").find((l) => l.includes(needle))
    if (line !== undefined) return line
    if (performance.now() > deadline) throw new Error(`no log line about ${needle} in ${member.name}'s log:\n${member.logTail()}`)
    await delay(50)
  }
}

describe("bad peers on a member's peer port", () => {
  let cluster: VerikvCluster
  let target: ClusterMember
  let targetIds: { readonly memberId: bigint; readonly clusterId: bigint }
  let otherIds: { readonly memberId: bigint; readonly clusterId: bigint }
  const report: string[] = []

  beforeAll(async () => {
    cluster = await startVerikvCluster({ size: 3, flags: timingFlags })
    // The leader: a fault that took it down would stop the whole cluster's writes.
    target = await cluster.leader()
    targetIds = await idsOf(target)
    otherIds = await idsOf(cluster.members.find((m) => m !== target)!)
  })
  afterAll(async () => {
    console.log(`[bad peers against ${target?.name}]\n  ${report.join("\n  ")}`)
    await cluster?.stop()
  })

  const peerPort = () => Number(new URL(target.peerUrl).port)

  const cases: ReadonlyArray<{ readonly name: string; readonly bytes: () => Buffer; readonly logged: RegExp }> = [
    {
      name: "an HTTP request (garbage to the frame decoder: 'GET ' is a huge length)",
      bytes: () => Buffer.from("GET /members HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
      logged: /dropped the peer connection from .*: frame of \d+ bytes exceeds the maximum/,
    },
    {
      name: "random bytes behind a header of an unknown frame type",
      bytes: () => Buffer.concat([rawHeader(16, 0xee, 0), Buffer.from("0123456789abcdef")]),
      logged: /dropped the peer connection from .*: unknown frame type 238/,
    },
    {
      name: "a hello whose checksum does not match",
      bytes: () => {
        const hello = helloFrame({ version: protocolVersion, clusterId: targetIds.clusterId, senderMemberId: otherIds.memberId, receiverMemberId: targetIds.memberId })
        hello.writeUInt32LE((hello.readUInt32LE(5) ^ 1) >>> 0, 5)
        return hello
      },
      logged: /dropped the peer connection from .*: frame checksum mismatch/,
    },
    {
      name: "a frame claiming 2 GiB (oversized)",
      bytes: () => rawHeader(0x7fff_ffff, FrameType.RaftMessage, 0),
      logged: new RegExp(`dropped the peer connection from .*: frame of ${0x7fff_ffff} bytes exceeds the maximum of ${frameBytesMax}`),
    },
    {
      name: "a hello naming another cluster",
      bytes: () => helloFrame({ version: protocolVersion, clusterId: targetIds.clusterId ^ 1n, senderMemberId: otherIds.memberId, receiverMemberId: targetIds.memberId }),
      logged: /refused the peer connection from .*: cluster ID mismatch/,
    },
    {
      name: "a valid hello from a member, then a frame that is not a Raft message",
      bytes: () => Buffer.concat([
        helloFrame({ version: protocolVersion, clusterId: targetIds.clusterId, senderMemberId: otherIds.memberId, receiverMemberId: targetIds.memberId }),
        frame(FrameType.HelloAccepted, () => {}),
      ]),
      logged: /dropped the peer connection from .*: frame type 2 after the handshake/,
    },
    {
      name: "a connection that never says hello",
      bytes: () => Buffer.alloc(0),
      logged: /dropped the peer connection from .*: no hello within \d+ ms/,
    },
  ]

  it.each(cases)("drops $name with a log line, and keeps serving", async ({ name, bytes, logged }) => {
    const sent = await sendAndWaitForClose(peerPort(), bytes())
    const line = await logLineAbout(target, sent.localPort)
    expect(line).toMatch(logged)
    if (name.includes("another cluster")) {
      // The member says why before it closes: a HelloRefused frame with the reason.
      expect(sent.answer.readUInt8(4)).toBe(FrameType.HelloRefused)
      const refusal = decodeRefusal(new ByteReader(sent.answer, frameHeaderBytes, sent.answer.length))
      expect(refusal).toEqual({ reason: "ClusterIdMismatch", listenerValue: targetIds.clusterId })
    }
    expect(target.running(), `${target.name} still runs`).toBe(true)
    const put = await callMember(target, "KV", "Put", { key: Buffer.from(`bad-peer/${name}`), value: Buffer.from("still serving") })
    expect(put.ok, `a put through ${target.name} after ${name}`).toBe(true)
    report.push(`${name}: closed after ${sent.closedAfterMs.toFixed(0)} ms; logged "${line.slice(line.indexOf("dropped") >= 0 ? line.indexOf("dropped") : line.indexOf("refused"))}"; a put still succeeds`)
  }, 30_000)

  it("leaves the cluster whole: every member commits and all report the same HashKV", async () => {
    for (const member of cluster.members) {
      const put = await callMember(member, "KV", "Put", { key: Buffer.from(`bad-peer/after/${member.name}`), value: Buffer.from("ok") })
      expect(put.ok, `a put through ${member.name}`).toBe(true)
    }
    const { revision, hashes } = await hashesAtOneRevision(cluster.members, 20_000)
    expect(new Set(hashes.map((h) => h.hash)).size, JSON.stringify(hashes)).toBe(1)
    report.push(`afterwards: puts through all ${hashes.length} members, HashKV at revision ${revision} equal`)
  }, 60_000)
})
