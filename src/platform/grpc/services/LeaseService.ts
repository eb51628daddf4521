// etcdserverpb.Lease: grant and revoke go through the log; keep-alive renews on the leader's
// clock; TimeToLive and Leases read the store and that clock.
import type { KvResult, LeaseId, LeaseLeasesResponse, LeaseTimeToLiveResponse } from "../../../kv/Api.ts"
import type { Header } from "../codec/KvCodec.ts"
import {
  readLeaseGrantRequest,
  readLeaseId,
  readLeaseTimeToLiveRequest,
  writeLeaseIdTtl,
  writeLeaseLeasesResponse,
  writeLeaseTimeToLiveResponse,
} from "../codec/LeaseCodec.ts"
import { writeHeaderOnly } from "../codec/KvCodec.ts"
import type { Method } from "../Server.ts"
import { GrpcError } from "../Status.ts"
import { encodeMessage, ProtoReader } from "../Wire.ts"
import { throwIfError } from "./KvService.ts"

export interface LeaseBackend {
  header(revision?: number): Header
  grant(ttl: number, id: LeaseId): Promise<KvResult>
  revoke(id: LeaseId): Promise<KvResult>
  /** Renews a lease; resolves to its TTL, or 0 if the lease is unknown (etcd's answer). */
  keepAlive(id: LeaseId): Promise<number>
  timeToLive(id: LeaseId, keys: boolean): Promise<LeaseTimeToLiveResponse>
  leases(): Promise<LeaseLeasesResponse>
}

export function leaseMethods(backend: LeaseBackend): Map<string, Method> {
  return new Map<string, Method>([
    ["/etcdserverpb.Lease/LeaseGrant", {
      kind: "unary",
      handle: async (bytes) => {
        const request = readLeaseGrantRequest(new ProtoReader(bytes))
        const result = await backend.grant(request.ttl, request.id)
        throwIfError(result)
        if (result.type !== "LeaseGrant") throw new Error("lease grant answered with " + result.type)
        return encodeMessage((w) => writeLeaseIdTtl(w, backend.header(result.response.header.revision), result.response.id, result.response.ttl))
      },
    }],
    ["/etcdserverpb.Lease/LeaseRevoke", {
      kind: "unary",
      handle: async (bytes) => {
        const result = await backend.revoke(readLeaseId(new ProtoReader(bytes)))
        throwIfError(result)
        return encodeMessage((w) => writeHeaderOnly(w, backend.header(result.response.header.revision)))
      },
    }],
    ["/etcdserverpb.Lease/LeaseTimeToLive", {
      kind: "unary",
      handle: async (bytes) => {
        const request = readLeaseTimeToLiveRequest(new ProtoReader(bytes))
        const response = await backend.timeToLive(request.id, request.keys)
        return encodeMessage((w) => writeLeaseTimeToLiveResponse(w, backend.header(response.header.revision), response))
      },
    }],
    ["/etcdserverpb.Lease/LeaseLeases", {
      kind: "unary",
      handle: async () => {
        const response = await backend.leases()
        return encodeMessage((w) => writeLeaseLeasesResponse(w, backend.header(response.header.revision), response.leases.map((l) => l.id)))
      },
    }],
    ["/etcdserverpb.Lease/LeaseKeepAlive", {
      kind: "stream",
      open: (call) => {
        // A client that half-closes after its requests (python-etcd3's refresh does) still gets
        // an answer to each of them before the stream ends, as from etcd's receive-answer loop.
        let pending = 0
        let halfClosed = false
        const endWhenAnswered = (): void => {
          if (halfClosed && pending === 0) call.end()
        }
        return {
          onMessage: (bytes) => {
            const id = readLeaseId(new ProtoReader(bytes))
            pending++
            backend.keepAlive(id).then(
              (ttl) => {
                pending--
                call.send(encodeMessage((w) => writeLeaseIdTtl(w, backend.header(), id, ttl)))
                endWhenAnswered()
              },
              (error: unknown) => call.end(error instanceof GrpcError ? error : new GrpcError(14, String(error))),
            )
          },
          onHalfClose: () => {
            halfClosed = true
            endWhenAnswered()
          },
          onEnd: () => call.end(), // over: ended here, or reset or cancelled by the client
        }
      },
    }],
  ])
}
