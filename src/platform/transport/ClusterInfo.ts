// The cluster as a member describes it to a node about to join (etcd's GET /members on the peer
// port): the cluster ID, the members that bootstrapped the cluster (the configuration every log
// starts from) and the current members. A joiner asks with a ClusterInfoRequest instead of a
// Hello; the listener answers and closes. fetchClusterInfo is the asking side.
import * as net from "node:net"
import * as tls from "node:tls"
import { ByteReader } from "./ByteReader.ts"
import { ByteWriter } from "./ByteWriter.ts"
import { beginFrame, endFrame, FrameType } from "./Frame.ts"
import { FrameDecoder } from "./FrameDecoder.ts"
import { protocolVersion } from "./Handshake.ts"
import { parsePeerUrl } from "./PeerUrl.ts"
import { PeerProtocolError } from "./ProtocolError.ts"

export interface ClusterInfoMember {
  readonly id: bigint
  readonly name: string
  readonly peerUrls: ReadonlyArray<string>
  readonly isLearner: boolean
}

export interface ClusterInfo {
  readonly clusterId: bigint
  readonly bootstrapMembers: ReadonlyArray<ClusterInfoMember>
  readonly currentMembers: ReadonlyArray<ClusterInfoMember>
}

/** A cluster description is small; anything larger is a protocol error. */
const infoBytesMax = 1024 * 1024

export function encodeClusterInfoRequest(w: ByteWriter): void {
  w.varint(protocolVersion)
}

/** The asker's protocol version (the listener answers only its own). */
export function decodeClusterInfoRequest(r: ByteReader): number {
  const version = r.varint("cluster info request version")
  r.expectEnd("cluster info request")
  return version
}

function encodeMembers(w: ByteWriter, members: ReadonlyArray<ClusterInfoMember>): void {
  w.varint(members.length)
  for (const member of members) {
    w.u64(member.id)
    w.string(member.name)
    w.varint(member.peerUrls.length)
    for (const url of member.peerUrls) w.string(url)
    w.u8(member.isLearner ? 1 : 0)
  }
}

function decodeMembers(r: ByteReader): ClusterInfoMember[] {
  const count = r.count("member count", 11)
  const members: ClusterInfoMember[] = []
  for (let k = 0; k < count; k++) {
    const id = r.u64("member ID")
    const name = r.string("member name")
    const urlCount = r.count("peer URL count", 1)
    const peerUrls: string[] = []
    for (let u = 0; u < urlCount; u++) peerUrls.push(r.string("peer URL"))
    const learner = r.u8("learner flag")
    if (learner > 1) throw new PeerProtocolError(`learner flag ${learner}`)
    members.push({ id, name, peerUrls, isLearner: learner === 1 })
  }
  return members
}

export function encodeClusterInfo(w: ByteWriter, info: ClusterInfo): void {
  w.u64(info.clusterId)
  encodeMembers(w, info.bootstrapMembers)
  encodeMembers(w, info.currentMembers)
}

export function decodeClusterInfo(r: ByteReader): ClusterInfo {
  const clusterId = r.u64("cluster ID")
  const bootstrapMembers = decodeMembers(r)
  const currentMembers = decodeMembers(r)
  r.expectEnd("cluster info")
  return { clusterId, bootstrapMembers, currentMembers }
}

/** Asks the member at `peerUrl` for the cluster's description; rejects with the reason. */
export function fetchClusterInfo(
  peerUrl: string, clientTls: tls.ConnectionOptions | undefined, timeoutMs: number,
): Promise<ClusterInfo> {
  const url = parsePeerUrl(peerUrl)
  return new Promise((resolve, reject) => {
    const socket = url.secure
      ? tls.connect({ ...clientTls, host: url.host, port: url.port })
      : net.connect({ host: url.host, port: url.port })
    let settled = false
    const settle = (outcome: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      outcome()
    }
    const fail = (why: string) => settle(() => reject(new Error(`${peerUrl}: ${why}`)))
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs)
    socket.once(url.secure ? "secureConnect" : "connect", () => {
      const w = new ByteWriter(16)
      const start = beginFrame(w, FrameType.ClusterInfoRequest)
      encodeClusterInfoRequest(w)
      endFrame(w, start)
      socket.write(w.take(0))
    })
    const decoder = new FrameDecoder(infoBytesMax)
    socket.on("data", (chunk: Buffer) => {
      try {
        decoder.push(chunk, (type, payload) => {
          if (type !== FrameType.ClusterInfo) throw new PeerProtocolError(`frame type ${type} instead of cluster info`)
          const info = decodeClusterInfo(new ByteReader(payload))
          settle(() => resolve(info))
        })
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error))
      }
    })
    socket.on("error", (error) => fail(error.message))
    socket.on("close", () => fail("closed the connection without cluster info"))
  })
}
