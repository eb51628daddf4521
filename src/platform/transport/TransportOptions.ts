// What a PeerTransport is configured with: who we are, how to log, optional TLS files (etcd's
// --peer-* flags), and the limits, each named for its unit and checked against the others once.
import { constants as bufferConstants } from "node:buffer"
import { assert } from "../../assert.ts"
import type { NodeId } from "../../raft/Types.ts"
import type { ClusterInfo } from "./ClusterInfo.ts"
import { frameHeaderBytes } from "./Frame.ts"

export interface TransportLogger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
}

/** etcd's --peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth. */
export interface PeerTlsFiles {
  readonly certFile: string
  readonly keyFile: string
  /** CA bundle peer certificates must chain to ("" for the system's CAs). */
  readonly trustedCaFile: string
  /** Require a client certificate from dialing peers that chains to the trusted CA. */
  readonly clientCertAuth: boolean
}

export interface TransportLimits {
  /** The largest frame payload accepted or sent (etcd caps a peer message at 64 MiB + snapshot). */
  readonly frameBytesMax: number
  /** Snapshot data per chunk frame; a snapshot larger than this is streamed in chunks. */
  readonly snapshotChunkBytes: number
  /** The largest snapshot a receiver reassembles (it holds the whole snapshot in memory). */
  readonly snapshotBytesMax: number
  /** Items (messages or application frames) queued per peer; newer ones are dropped beyond it. */
  readonly queueItemsMax: number
  /** Stop writing to a peer's socket while this much is buffered in it; resume on 'drain'. */
  readonly socketBufferBytesMax: number
  /** Dial, TLS and handshake together must finish within this, or the attempt fails. */
  readonly connectTimeoutMs: number
  /** An accepted connection must send its Hello (and be refused, if so, and gone) within this. */
  readonly helloTimeoutMs: number
  readonly reconnectDelayInitialMs: number
  readonly reconnectDelayMaxMs: number
}

const MiB = 1024 * 1024

export const defaultTransportLimits: TransportLimits = {
  frameBytesMax: 64 * MiB,
  snapshotChunkBytes: 1 * MiB,
  snapshotBytesMax: 2 * 1024 * MiB,
  queueItemsMax: 4096,
  socketBufferBytesMax: 4 * MiB,
  connectTimeoutMs: 2000,
  helloTimeoutMs: 5000,
  reconnectDelayInitialMs: 50,
  reconnectDelayMaxMs: 1000,
}

export function validateLimits(limits: TransportLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    assert(Number.isSafeInteger(value) && value > 0, `transport limit ${name} must be positive`)
  }
  // A chunk frame carries the chunk alone; the head frame's meta is far below the maximum.
  const chunkFits = limits.snapshotChunkBytes + frameHeaderBytes <= limits.frameBytesMax
  assert(chunkFits, "snapshotChunkBytes must fit in a frame")
  const delaysOrdered = limits.reconnectDelayInitialMs <= limits.reconnectDelayMaxMs
  assert(delaysOrdered, "reconnect delays: initial above maximum")
  assert(limits.snapshotBytesMax <= bufferConstants.MAX_LENGTH, "snapshotBytesMax beyond a buffer")
}

export interface PeerTransportOptions {
  readonly clusterId: bigint
  readonly memberId: bigint
  /** Our Raft node ID: inbound messages must be addressed to it. */
  readonly raftId: NodeId
  /** Whether a member ID belongs to a current member; dialers that are not are refused. */
  readonly isMember: (memberId: bigint) => boolean
  /** Whether a member ID was removed (such a dialer is told so, not just refused as unknown). */
  readonly isRemoved?: ((memberId: bigint) => boolean) | undefined
  /** What a node about to join is told (see ClusterInfo.ts); such requests are refused if absent. */
  readonly clusterInfo?: (() => ClusterInfo) | undefined
  readonly logger: TransportLogger
  /** TLS for the listener (and client certificates for https:// peers); plain TCP if absent. */
  readonly tls?: PeerTlsFiles | undefined
  readonly limits?: Partial<TransportLimits> | undefined
  /** Jitter source for reconnect delays (tests may pin it). */
  readonly random?: (() => number) | undefined
}
