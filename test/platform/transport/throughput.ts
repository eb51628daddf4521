// Throughput between two PeerTransports on loopback, each in its own process (so each end has a
// core): small AppendEntries (messages/s), large AppendEntries and snapshots (MB/s). Not a test;
// run: npx node test/platform/transport/throughput.ts
// The sender keeps its queue half full (no drops) and a TimeoutNowRequest marks the end of each
// phase; the receiver answers the marker with what it counted and its CPU time, on stdout. Each
// phase's time runs from its first send to that answer.
import { spawn } from "node:child_process"
import * as readline from "node:readline"
import { PeerTransport } from "../../../src/platform/transport/PeerTransport.ts"
import type { Entry, Message } from "../../../src/raft/Types.ts"
import { logIndex, nodeId, term } from "../../../src/raft/Types.ts"

const senderMember = 0xa1n
const receiverMember = 0xb2n
const quietLog = { debug: () => {}, info: () => {}, warn: (m: string) => console.error(m) }
const options = (memberId: bigint) => ({
  clusterId: 1n, memberId, raftId: nodeId(Number(memberId)), isMember: () => true, logger: quietLog,
})

async function receiver(): Promise<void> {
  const transport = new PeerTransport(options(receiverMember))
  let messages = 0
  let payloadBytes = 0
  let cpuAtMark = process.cpuUsage()
  transport.onMessage = (m) => {
    if (m.type === "TimeoutNowRequest") {
      const cpu = process.cpuUsage(cpuAtMark)
      console.log(`mark ${messages} ${payloadBytes} ${cpu.user + cpu.system}`)
      messages = 0
      payloadBytes = 0
      cpuAtMark = process.cpuUsage()
      return
    }
    messages++
    if (m.type === "AppendEntriesRequest") for (const e of m.entries) payloadBytes += e.data.length
    if (m.type === "InstallSnapshotRequest") payloadBytes += m.snapshot.data.length
  }
  const { port } = await transport.listen("127.0.0.1", 0)
  console.log(`listening ${port}`)
  process.stdin.on("end", () => void transport.close().then(() => process.exit(0)))
  process.stdin.resume()
}

const entries = (count: number, bytes: number): Entry[] => Array.from({ length: count }, (_, k) => ({
  term: term(3), index: logIndex(1000 + k), type: "Normal", data: new Uint8Array(bytes).fill(7), config: undefined,
}))
const append = (batch: Entry[]): Message => ({
  type: "AppendEntriesRequest", from: nodeId(Number(senderMember)), to: nodeId(Number(receiverMember)), term: term(3),
  prevLogIndex: logIndex(999), prevLogTerm: term(3), entries: batch, commitIndex: logIndex(999),
})
const marker: Message = { type: "TimeoutNowRequest", from: nodeId(Number(senderMember)), to: nodeId(Number(receiverMember)), term: term(3) }

async function phase(
  name: string, transport: PeerTransport, lines: AsyncIterator<string>, message: Message, count: number, perTurn: number,
): Promise<void> {
  transport.send([marker]) // the receiver's CPU count starts here
  await lines.next()
  const startedMs = performance.now()
  const cpuAtStart = process.cpuUsage()
  let sent = 0
  while (sent < count) {
    const stats = transport.peerStats()[0]!
    if (stats.queuedItems < transport.limits.queueItemsMax / 2) {
      const n = Math.min(perTurn, count - sent)
      transport.send(Array.from({ length: n }, () => message))
      sent += n
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  // A snapshot streams beside other messages: the marker goes once its last chunk is written.
  if (message.type === "InstallSnapshotRequest") await new Promise((resolve) => (transport.onSnapshotSent = resolve))
  transport.send([marker])
  const line = (await lines.next()).value as string
  const seconds = (performance.now() - startedMs) / 1000
  const senderCpu = process.cpuUsage(cpuAtStart)
  const [, received, bytes, receiverCpuUs] = line.split(" ").map(Number) as [number, number, number, number]
  const dropped = transport.peerStats()[0]!.droppedItems
  // CPU time per message on each side: a steadier figure than wall time on a shared machine.
  const usPer = (cpuUs: number): string => (cpuUs / received).toFixed(2)
  const cpuMbPerS = (cpuUs: number): string => (bytes / cpuUs).toFixed(0)
  console.log(`${name}: ${received} messages in ${seconds.toFixed(2)} s = ${Math.round(received / seconds)} messages/s, ` +
    `${(bytes / seconds / 1e6).toFixed(0)} MB/s of payload (dropped ${dropped}); CPU per message: ` +
    `sender ${usPer(senderCpu.user + senderCpu.system)} us, receiver ${usPer(receiverCpuUs)} us ` +
    `(${cpuMbPerS(senderCpu.user + senderCpu.system)} / ${cpuMbPerS(receiverCpuUs)} MB per CPU-second)`)
}

async function sender(): Promise<void> {
  const child = spawn(process.execPath, [process.argv[1]!, "--receiver"], { stdio: ["pipe", "pipe", "inherit"] })
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const port = Number(((await lines.next()).value as string).split(" ")[1])
  const transport = new PeerTransport(options(senderMember))
  transport.addPeer(receiverMember, nodeId(Number(receiverMember)), [`http://127.0.0.1:${port}`])
  while (transport.unreachablePeers().length > 0) await new Promise((resolve) => setTimeout(resolve, 10))
  await phase("heartbeat-size AppendEntries (1 entry of 16 B)", transport, lines, append(entries(1, 16)), 400_000, 1024)
  await phase("AppendEntries of 8 entries of 128 B", transport, lines, append(entries(8, 128)), 200_000, 1024)
  await phase("AppendEntries of 16 entries of 4 KiB (64 KiB)", transport, lines, append(entries(16, 4096)), 8_000, 64)
  const snapshot: Message = {
    type: "InstallSnapshotRequest", from: nodeId(Number(senderMember)), to: nodeId(Number(receiverMember)), term: term(3),
    snapshot: { meta: { index: logIndex(5), term: term(3), config: { voters: [], votersOutgoing: [], learners: [] } }, data: new Uint8Array(64 << 20) },
  }
  for (let k = 0; k < 4; k++) await phase("a 64 MiB snapshot (1 MiB chunks)", transport, lines, snapshot, 1, 1)
  await transport.close()
  child.stdin!.end()
}

await (process.argv.includes("--receiver") ? receiver() : sender())
