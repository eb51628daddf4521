// Requests one member serves for another, over the peer transport's Call frames: a follower hands
// the leader what only the leader can do (membership changes, lease keep-alives). Bodies are JSON
// with bigints and byte strings kept; an error the handler throws (a GrpcError) comes back to the
// caller with its code and message, so a client of the follower sees the leader's answer.
import { GrpcError, Status } from "../platform/grpc/Status.ts"
import type { Call, CallResult } from "../platform/transport/AppFrames.ts"

export interface CallSender {
  sendCall(toMemberId: bigint, call: Call): boolean
  sendCallResult(toMemberId: bigint, result: CallResult): boolean
}

export type CallHandler = (request: unknown) => Promise<unknown>

const BIGINT_TAG = "$bigint"
const BYTES_TAG = "$bytes"

export function encodeCallBody(value: unknown): Uint8Array {
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key, replaced: unknown) {
    const raw = this[key] // before toJSON: a Buffer still is one
    if (typeof raw === "bigint") return { [BIGINT_TAG]: raw.toString() }
    if (raw instanceof Uint8Array) return { [BYTES_TAG]: Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("base64") }
    return replaced
  })
  return new TextEncoder().encode(json ?? "null")
}

export function decodeCallBody(bytes: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(bytes), (_key, value: unknown) => {
    if (typeof value !== "object" || value === null) return value
    const tagged = value as Record<string, unknown>
    if (typeof tagged[BIGINT_TAG] === "string") return BigInt(tagged[BIGINT_TAG])
    if (typeof tagged[BYTES_TAG] === "string") return new Uint8Array(Buffer.from(tagged[BYTES_TAG], "base64"))
    return value
  })
}

export class PeerCalls {
  private readonly sender: CallSender
  private readonly handlers = new Map<string, CallHandler>()
  private readonly pending = new Map<number, { resolve: (body: unknown) => void; reject: (error: Error) => void }>()
  private nextCallId = 1

  constructor(sender: CallSender) {
    this.sender = sender
  }

  handle(method: string, handler: CallHandler): void {
    this.handlers.set(method, handler)
  }

  /** Asks member `to` to serve `method`; rejects with its error, or UNAVAILABLE after `timeoutMs`. */
  call(to: bigint, method: string, request: unknown, timeoutMs: number): Promise<unknown> {
    const callId = this.nextCallId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(callId)
        reject(new GrpcError(Status.UNAVAILABLE, "etcdserver: request timed out"))
      }, timeoutMs)
      const settle = <T>(finish: (value: T) => void) => (value: T) => {
        clearTimeout(timer)
        this.pending.delete(callId)
        finish(value)
      }
      this.pending.set(callId, { resolve: settle(resolve), reject: settle(reject) })
      if (!this.sender.sendCall(to, { callId, method, body: encodeCallBody(request) })) {
        this.pending.get(callId)?.reject(new GrpcError(Status.UNAVAILABLE, "etcdserver: leader is unreachable"))
      }
    })
  }

  /** A call from a peer: serve it and send the result back. */
  received(from: bigint, call: Call): void {
    const handler = this.handlers.get(call.method)
    const answer = (result: CallResult) => void this.sender.sendCallResult(from, result)
    if (handler === undefined) {
      answer({ callId: call.callId, errorCode: Status.UNIMPLEMENTED, errorMessage: `no peer call ${call.method}` })
      return
    }
    void (async () => {
      try {
        const response = await handler(decodeCallBody(call.body))
        answer({ callId: call.callId, body: encodeCallBody(response) })
      } catch (error) {
        const grpc = error instanceof GrpcError ? error : new GrpcError(Status.UNAVAILABLE, error instanceof Error ? error.message : String(error))
        answer({ callId: call.callId, errorCode: grpc.code, errorMessage: grpc.message })
      }
    })()
  }

  resultReceived(result: CallResult): void {
    const waiter = this.pending.get(result.callId)
    if (waiter === undefined) return // timed out already
    if ("errorCode" in result) waiter.reject(new GrpcError(result.errorCode as Status, result.errorMessage))
    else waiter.resolve(decodeCallBody(result.body))
  }

  /** Fails every call still waiting (the member is stopping). */
  close(): void {
    for (const waiter of [...this.pending.values()]) waiter.reject(new GrpcError(Status.UNAVAILABLE, "etcdserver: server stopped"))
  }
}
