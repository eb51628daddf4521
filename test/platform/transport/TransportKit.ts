// Real PeerTransports on 127.0.0.1 for tests: members with fixed IDs, a log that keeps its lines,
// what each transport received, and a bounded wait for a condition (never a timed assertion: a
// wait that runs out fails with what it was waiting for).
import { PeerTransport } from "../../../src/platform/transport/PeerTransport.ts"
import type { PeerTlsFiles, TransportLimits } from "../../../src/platform/transport/TransportOptions.ts"
import type { ReadIndexRequest, ReadIndexResponse } from "../../../src/platform/transport/AppFrames.ts"
import type { Message, NodeId } from "../../../src/raft/Types.ts"
import { nodeId } from "../../../src/raft/Types.ts"
import { loopbackHost } from "../../support/FreePort.ts"

export const clusterId = 0x1c45a0b1c2d3e4f5n
export const otherClusterId = 0x9a3f00112233aabbn

/** Member IDs as etcd makes them (64 random-looking bits) and Raft IDs as the server derives them. */
export const memberIds = [0xa1b2c3d4e5f60718n, 0xb2c3d4e5f6071829n, 0xc3d4e5f60718293an, 0xd4e5f60718293a4bn]
export const raftIdOf = (memberId: bigint): NodeId => nodeId(Number(memberId >> 12n))

export class TestLog {
  readonly lines: string[] = []
  debug = (m: string): void => void this.lines.push(`debug ${m}`)
  info = (m: string): void => void this.lines.push(`info ${m}`)
  warn = (m: string): void => void this.lines.push(`warn ${m}`)
  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line))
  }
}

export interface Node {
  readonly memberId: bigint
  readonly raftId: NodeId
  readonly transport: PeerTransport
  readonly log: TestLog
  readonly url: string
  readonly port: number
  readonly received: Message[]
  readonly forwarded: Array<{ from: bigint; datas: Uint8Array[] }>
  readonly readIndexRequests: Array<{ from: bigint; request: ReadIndexRequest }>
  readonly readIndexResponses: Array<{ from: bigint; response: ReadIndexResponse }>
  readonly snapshotReports: Array<{ to: NodeId; success: boolean }>
  readonly activity: Array<{ memberId: bigint; active: boolean }>
}

export interface NodeOptions {
  readonly memberId: bigint
  readonly clusterId?: bigint
  /** The members it accepts connections from (default: all of memberIds). */
  readonly members?: ReadonlySet<bigint>
  readonly port?: number
  readonly tls?: PeerTlsFiles
  readonly scheme?: "http" | "https"
  readonly limits?: Partial<TransportLimits>
}

export async function startNode(options: NodeOptions): Promise<Node> {
  const members = options.members ?? new Set(memberIds)
  const log = new TestLog()
  const transport = new PeerTransport({
    clusterId: options.clusterId ?? clusterId,
    memberId: options.memberId,
    raftId: raftIdOf(options.memberId),
    isMember: (id) => members.has(id),
    logger: log,
    tls: options.tls,
    limits: { reconnectDelayInitialMs: 10, reconnectDelayMaxMs: 100, ...options.limits },
  })
  const node: Node = {
    memberId: options.memberId, raftId: raftIdOf(options.memberId), transport, log,
    url: "", port: 0, received: [], forwarded: [], readIndexRequests: [], readIndexResponses: [],
    snapshotReports: [], activity: [],
  }
  transport.onMessage = (m) => node.received.push(m)
  transport.onForward = (from, datas) => node.forwarded.push({ from, datas })
  transport.onReadIndexRequest = (from, request) => node.readIndexRequests.push({ from, request })
  transport.onReadIndexResponse = (from, response) => node.readIndexResponses.push({ from, response })
  transport.onSnapshotSent = (to, success) => node.snapshotReports.push({ to, success })
  transport.onPeerActive = (memberId, active) => node.activity.push({ memberId, active })
  const { port } = await transport.listen(loopbackHost, options.port ?? 0)
  const scheme = options.scheme ?? (options.tls === undefined ? "http" : "https")
  return { ...node, url: `${scheme}://${loopbackHost}:${port}`, port }
}

/** Makes every node dial every other. */
export function connectAll(nodes: ReadonlyArray<Node>): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.addPeer(b.memberId, b.raftId, [b.url])
}

/** Waits (without asserting anything about time) until `condition` holds; fails after 20 s. */
export async function waitUntil(condition: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export const heartbeat = (from: NodeId, to: NodeId, context: number): Message =>
  ({ type: "HeartbeatRequest", from, to, term: 1, commitIndex: 0, context }) as unknown as Message
