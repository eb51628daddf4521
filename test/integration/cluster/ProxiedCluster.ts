// A verikv cluster whose peer links all run through loopback proxies, so a test can partition it.
//
// Topology: one proxy per member, in front of that member's peer listener. --initial-cluster
// names each member by its proxy's URL (so member IDs, derived from the peer URLs, agree on every
// member), and every member listens on its own port behind the proxy. The peer transport is
// one-way per connection: member i sends to member j on a connection i dialed, through proxy(j).
// Proxy(j) names each connection's sender from the handshake (the Hello frame carries the sender's
// member ID), so the link i -> j can be cut at proxy(j) alone. Partitioning a set M off cuts, at
// every proxy, the connections that cross the boundary: at proxy(j) for j in M those from members
// outside M, and at the others those from members in M. Members inside one side still talk.
//
//   n1 --dial--> proxy(n2) --> n2:peer        n2 --dial--> proxy(n1) --> n1:peer
//   n1 --dial--> proxy(n3) --> n3:peer        ...
import { assert } from "../../../src/assert.ts"
import { ByteReader } from "../../../src/platform/transport/ByteReader.ts"
import { frameHeaderBytes, FrameType } from "../../../src/platform/transport/Frame.ts"
import { decodeHello } from "../../../src/platform/transport/Handshake.ts"
import { connectEtcd } from "../../support/EtcdClient.ts"
import { startLoopbackProxy, type LinkFault, type LoopbackProxy } from "../../support/LoopbackProxy.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../../support/VerikvCluster.ts"

export interface ProxiedCluster {
  readonly cluster: VerikvCluster
  readonly proxyOf: (name: string) => LoopbackProxy
  /** Cuts every link between `side` and the other members, both ways, with `fault`. */
  readonly partition: (side: ReadonlyArray<string>, fault: LinkFault) => void
  readonly heal: () => void
  /** Connections cut by faults so far, and held by a blackhole now, over all proxies. */
  readonly faultCounts: () => { readonly cut: number; readonly held: number }
  readonly stop: () => Promise<void>
}

/** The sender's member ID (decimal) in a Hello frame at the start of `head`; undefined if short. */
export function helloSender(head: Buffer): string | undefined {
  if (head.length < frameHeaderBytes) return undefined
  const payloadBytes = head.readUInt32LE(0)
  if (head[4] !== FrameType.Hello) return "(not a hello)"
  if (head.length < frameHeaderBytes + payloadBytes) return undefined
  try {
    const hello = decodeHello(new ByteReader(head, frameHeaderBytes, frameHeaderBytes + payloadBytes))
    return String(hello.senderMemberId)
  } catch {
    return "(bad hello)"
  }
}

export async function startProxiedCluster(size: number, flags: ReadonlyArray<string>): Promise<ProxiedCluster> {
  const cluster = await startVerikvCluster({ size: 0, flags })
  const proxies = new Map<string, LoopbackProxy>()
  const stop = async () => {
    await cluster.stop()
    await Promise.all([...proxies.values()].map((p) => p.close()))
  }
  const memberIds = new Map<string, string>()
  try {
    const members: ClusterMember[] = []
    for (let k = 1; k <= size; k++) members.push(await cluster.prepareMember(`n${k}`))
    // The members' ports were chosen and released again; a proxy must not take one of them.
    const reserved = new Set(members.flatMap((m) => [m.peerUrl, m.clientUrl].map((url) => Number(new URL(url).port))))
    for (const member of members) {
      const targetPort = Number(new URL(member.peerUrl).port)
      proxies.set(member.name, await startProxyAvoiding(reserved, targetPort))
    }
    const initialCluster = members.map((m) => `${m.name}=${proxies.get(m.name)!.url}`).join(",")
    await Promise.all(members.map((m) => m.start({ initialClusterState: "new", initialCluster })))
    for (const member of members) memberIds.set(member.name, await memberIdOf(member))
  } catch (error) {
    await stop()
    throw error
  }
  const proxyOf = (name: string) => {
    const proxy = proxies.get(name)
    assert(proxy !== undefined, `no proxy for member ${name}`)
    return proxy
  }
  const idsOf = (names: ReadonlyArray<string>) => new Set(names.map((n) => memberIds.get(n)!))
  return {
    cluster,
    proxyOf,
    partition: (side, fault) => {
      for (const name of side) assert(memberIds.has(name), `no member ${name}`)
      const others = [...memberIds.keys()].filter((n) => !side.includes(n))
      for (const [name, proxy] of proxies) proxy.cut(fault, idsOf(side.includes(name) ? others : side))
    },
    heal: () => {
      for (const proxy of proxies.values()) proxy.heal()
    },
    faultCounts: () => {
      const stats = [...proxies.values()].map((p) => p.stats())
      return { cut: stats.reduce((sum, s) => sum + s.cutConnections, 0), held: stats.reduce((sum, s) => sum + s.held, 0) }
    },
    stop,
  }
}

async function startProxyAvoiding(reserved: ReadonlySet<number>, targetPort: number): Promise<LoopbackProxy> {
  const rejected: LoopbackProxy[] = []
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      const proxy = await startLoopbackProxy({ targetPort, identify: helloSender })
      if (!reserved.has(proxy.port)) return proxy
      rejected.push(proxy) // kept open until a free port comes, so the kernel does not hand it out again
    }
    throw new Error("no proxy port outside the members' ports in 10 attempts")
  } finally {
    await Promise.all(rejected.map((p) => p.close()))
  }
}

async function memberIdOf(member: ClusterMember): Promise<string> {
  const client = connectEtcd(member.clientEndpoint)
  try {
    const status = await client.call("Maintenance", "Status", {})
    if (!status.ok) throw new Error(`Status on ${member.name}: ${status.message}`)
    const header = status.response.header as { memberId?: string }
    assert(header.memberId !== undefined && header.memberId !== "0", "Status names the member")
    return header.memberId
  } finally {
    client.close()
  }
}
