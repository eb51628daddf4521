// The first exchange on every peer connection. The dialer says who it is and whom it expects;
// the listener checks the protocol version, the cluster, that it is the expected member, and that
// the dialer is a current member, and answers HelloAccepted or HelloRefused with the reason. Both
// sides log a refusal from their own point of view ("local" is always the side that logs).
import { assertNever } from "../../assert.ts"
import type { ByteReader } from "./ByteReader.ts"
import type { ByteWriter } from "./ByteWriter.ts"
import { PeerProtocolError } from "./ProtocolError.ts"

/** Bumped whenever the frame layout or a payload changes incompatibly. */
export const protocolVersion = 1

export interface Hello {
  readonly version: number
  readonly clusterId: bigint
  readonly senderMemberId: bigint
  readonly receiverMemberId: bigint
}

export type RefusalReason =
  | "VersionMismatch" | "ClusterIdMismatch" | "WrongReceiver" | "UnknownSender" | "RemovedSender"
const reasonCodes: Record<RefusalReason, number> = {
  VersionMismatch: 1, ClusterIdMismatch: 2, WrongReceiver: 3, UnknownSender: 4, RemovedSender: 5,
}
const reasonsByCode = new Map(
  Object.entries(reasonCodes).map(([reason, code]) => [code, reason as RefusalReason]),
)

export interface Refusal {
  readonly reason: RefusalReason
  /** The listener's own value of what did not match: its version, cluster ID or member ID. */
  readonly listenerValue: bigint
}

export interface ListenerIdentity {
  readonly clusterId: bigint
  readonly memberId: bigint
  /** Whether a member ID belongs to a current member (false for unknown and removed ones). */
  readonly isMember: (memberId: bigint) => boolean
  /** Whether a member ID was removed from the cluster (it is told so, and stops). */
  readonly isRemoved?: ((memberId: bigint) => boolean) | undefined
}

export function checkHello(hello: Hello, listener: ListenerIdentity): Refusal | undefined {
  const refuse = (reason: RefusalReason, value: bigint): Refusal =>
    ({ reason, listenerValue: value })
  if (hello.version !== protocolVersion) return refuse("VersionMismatch", BigInt(protocolVersion))
  if (hello.clusterId !== listener.clusterId) return refuse("ClusterIdMismatch", listener.clusterId)
  const { memberId } = listener
  if (hello.receiverMemberId !== memberId) return refuse("WrongReceiver", memberId)
  if (!listener.isMember(hello.senderMemberId)) {
    const removed = listener.isRemoved?.(hello.senderMemberId) === true
    return refuse(removed ? "RemovedSender" : "UnknownSender", hello.senderMemberId)
  }
  return undefined
}

export const hex = (id: bigint): string => id.toString(16)

/** Why the connection was refused, in the words of the side that logs it. */
export function describeRefusal(
  refusal: Refusal, hello: Hello, side: "listener" | "dialer",
): string {
  const mismatch = (what: string, listener: string, dialer: string): string => side === "listener"
    ? `${what} mismatch (local ${listener}, remote ${dialer})`
    : `${what} mismatch (local ${dialer}, remote ${listener})`
  const listenerId = hex(refusal.listenerValue)
  switch (refusal.reason) {
    case "VersionMismatch":
      return mismatch("protocol version", String(refusal.listenerValue), String(hello.version))
    case "ClusterIdMismatch":
      return mismatch("cluster ID", listenerId, hex(hello.clusterId))
    case "WrongReceiver": {
      const expected = hex(hello.receiverMemberId)
      return side === "listener"
        ? `the dialer expected member ${expected}, but this is member ${listenerId}`
        : `it is member ${listenerId}, not member ${expected} as expected`
    }
    case "UnknownSender":
      return side === "listener"
        ? `member ${hex(hello.senderMemberId)} is not a member of this cluster (unknown or removed)`
        : `this member (${listenerId}) is not a member of its cluster (unknown or removed)`
    case "RemovedSender":
      return side === "listener"
        ? `member ${hex(hello.senderMemberId)} was removed from the cluster`
        : `this member (${listenerId}) was removed from the cluster`
    default:
      return assertNever(refusal.reason, "refusal reason")
  }
}

export function encodeHello(w: ByteWriter, hello: Hello): void {
  w.varint(hello.version)
  w.u64(hello.clusterId)
  w.u64(hello.senderMemberId)
  w.u64(hello.receiverMemberId)
}

export function decodeHello(r: ByteReader): Hello {
  // The version comes first so that a later layout can still be recognized and refused.
  const version = r.varint("hello version")
  const clusterId = r.u64("hello cluster ID")
  const senderMemberId = r.u64("hello sender member ID")
  const receiverMemberId = r.u64("hello receiver member ID")
  r.expectEnd("hello")
  return { version, clusterId, senderMemberId, receiverMemberId }
}

export function encodeRefusal(w: ByteWriter, refusal: Refusal): void {
  w.u8(reasonCodes[refusal.reason])
  w.u64(refusal.listenerValue)
}

export function decodeRefusal(r: ByteReader): Refusal {
  const code = r.u8("refusal reason")
  const reason = reasonsByCode.get(code)
  if (reason === undefined) throw new PeerProtocolError(`unknown refusal reason ${code}`)
  const listenerValue = r.u64("refusal value")
  r.expectEnd("refusal")
  return { reason, listenerValue }
}
