// LeaseKeepAlive answers every request it received, even when the client half-closes before the
// answers are ready (python-etcd3's refresh sends one request and half-closes at once), and ends
// the stream only after the last answer. A reset ends it at once.
import { describe, expect, it } from "vitest"
import type { LeaseId } from "../../../src/kv/Api.ts"
import type { ServerStream } from "../../../src/platform/grpc/Server.ts"
import { leaseMethods, type LeaseBackend } from "../../../src/platform/grpc/services/LeaseService.ts"
import { GrpcError, Status } from "../../../src/platform/grpc/Status.ts"
import { ProtoReader, ProtoWriter } from "../../../src/platform/grpc/Wire.ts"

type Event = { readonly kind: "sent"; readonly id: bigint; readonly ttl: number } | { readonly kind: "end"; readonly error: GrpcError | undefined }

function keepAliveRequest(id: bigint): Buffer {
  const w = new ProtoWriter()
  w.int64Big(1, id)
  return w.finish()
}

/** LeaseKeepAliveResponse: header = 1, ID = 2, TTL = 3. */
function readAnswer(bytes: Uint8Array): { id: bigint; ttl: number } {
  const r = new ProtoReader(bytes)
  let id = 0n
  let ttl = 0
  while (!r.done) {
    const tag = r.tag()
    if (tag >>> 3 === 2) id = r.int64Big()
    else if (tag >>> 3 === 3) ttl = r.int64()
    else r.skip(tag & 7)
  }
  return { id, ttl }
}

/** A backend whose keep-alives answer after `delayMs`: lease 404 is unknown to it. */
function slowBackend(delayMs: number): LeaseBackend {
  const never = (): never => {
    throw new Error("not used here")
  }
  return {
    header: () => ({ clusterId: 1n, memberId: 2n, revision: 3, raftTerm: 4 }),
    keepAlive: (id: LeaseId) => new Promise((resolve, reject) => setTimeout(() => {
      if (id === 404n) reject(new GrpcError(Status.UNAVAILABLE, "etcdserver: not leader"))
      else resolve(60)
    }, delayMs)),
    grant: never, revoke: never, timeToLive: never, leases: never,
  }
}

function openKeepAlive(backend: LeaseBackend) {
  const method = leaseMethods(backend).get("/etcdserverpb.Lease/LeaseKeepAlive")!
  if (method.kind !== "stream") throw new Error("LeaseKeepAlive is a stream method")
  const events: Array<Event> = []
  let ended = false
  const call: ServerStream = {
    headers: [],
    get closed() {
      return ended
    },
    send(message) {
      if (ended) return false
      events.push({ kind: "sent", ...readAnswer(message) })
      return true
    },
    end(error) {
      if (ended) return
      ended = true
      events.push({ kind: "end", error })
    },
  }
  const done = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (ended) {
        clearInterval(poll)
        resolve()
      }
    }, 2)
  })
  return { handlers: method.open(call), events, done }
}

describe("LeaseKeepAlive", () => {
  it("answers every request before ending a stream the client half-closed", async () => {
    const { handlers, events, done } = openKeepAlive(slowBackend(20))
    handlers.onMessage(keepAliveRequest(7n))
    handlers.onMessage(keepAliveRequest(8n))
    handlers.onHalfClose!() // half-closed at once, before any answer is ready
    await done
    expect(events).toEqual([
      { kind: "sent", id: 7n, ttl: 60 },
      { kind: "sent", id: 8n, ttl: 60 },
      { kind: "end", error: undefined },
    ])
  })

  it("ends at once with no answers when the client resets the stream", async () => {
    const { handlers, events, done } = openKeepAlive(slowBackend(20))
    handlers.onMessage(keepAliveRequest(7n))
    handlers.onEnd(new GrpcError(Status.CANCELLED, "grpc: the client cancelled the call"))
    await done
    await new Promise((resolve) => setTimeout(resolve, 40)) // the keep-alive resolves meanwhile
    expect(events).toEqual([{ kind: "end", error: undefined }])
  })

  it("ends with the backend's error", async () => {
    const { handlers, events, done } = openKeepAlive(slowBackend(5))
    handlers.onMessage(keepAliveRequest(404n))
    await done
    expect(events).toEqual([{ kind: "end", error: new GrpcError(Status.UNAVAILABLE, "etcdserver: not leader") }])
  })
})
