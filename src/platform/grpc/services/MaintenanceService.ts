// etcdserverpb.Maintenance.
import { type Header, writeHeaderOnly } from "../codec/KvCodec.ts"
import {
  type AlarmRequest,
  readAlarmRequest,
  readInt64Field1,
  readUint64Field1,
  type StatusResponse,
  writeAlarmResponse,
  writeHashKvResponse,
  writeHashResponse,
  writeSnapshotChunk,
  writeStatusResponse,
} from "../codec/MaintenanceCodec.ts"
import type { Method } from "../Server.ts"
import { GrpcError } from "../Status.ts"
import { encodeMessage, ProtoReader } from "../Wire.ts"

export interface MaintenanceBackend {
  header(revision?: number): Header
  status(): Promise<StatusResponse>
  hash(): Promise<number>
  /** etcd's HashKV at `revision` (0: current), with the compaction revision it covered. */
  hashKv(revision: number): Promise<{ readonly hash: number; readonly compactRevision: number; readonly revision: number }>
  /** The state as of now, as bytes a client saves to a file. */
  snapshot(): Promise<Uint8Array>
  defragment(): Promise<void>
  alarm(request: AlarmRequest): Promise<ReadonlyArray<{ readonly memberId: bigint; readonly alarm: number }>>
  moveLeader(targetId: bigint): Promise<void>
}

/** Snapshot blobs go out in chunks of this size, as etcd's do (32 KiB). */
const SNAPSHOT_CHUNK_BYTES = 32 * 1024

function unary(handle: (request: Buffer) => Promise<Uint8Array>): Method {
  return { kind: "unary", handle }
}

export function maintenanceMethods(backend: MaintenanceBackend): Map<string, Method> {
  return new Map<string, Method>([
    ["/etcdserverpb.Maintenance/Status", unary(async () => {
      const status = await backend.status()
      return encodeMessage((w) => writeStatusResponse(w, backend.header(), status))
    })],
    ["/etcdserverpb.Maintenance/Hash", unary(async () => {
      const hash = await backend.hash()
      return encodeMessage((w) => writeHashResponse(w, backend.header(), hash))
    })],
    ["/etcdserverpb.Maintenance/HashKV", unary(async (bytes) => {
      const { hash, compactRevision, revision } = await backend.hashKv(readInt64Field1(new ProtoReader(bytes)))
      return encodeMessage((w) => writeHashKvResponse(w, backend.header(revision), hash, compactRevision))
    })],
    ["/etcdserverpb.Maintenance/Defragment", unary(async () => {
      await backend.defragment()
      return encodeMessage((w) => writeHeaderOnly(w, backend.header()))
    })],
    ["/etcdserverpb.Maintenance/Alarm", unary(async (bytes) => {
      const alarms = await backend.alarm(readAlarmRequest(new ProtoReader(bytes)))
      return encodeMessage((w) => writeAlarmResponse(w, backend.header(), alarms))
    })],
    ["/etcdserverpb.Maintenance/MoveLeader", unary(async (bytes) => {
      await backend.moveLeader(readUint64Field1(new ProtoReader(bytes)))
      return encodeMessage((w) => writeHeaderOnly(w, backend.header()))
    })],
    ["/etcdserverpb.Maintenance/Snapshot", {
      kind: "stream",
      open: (call) => {
        let started = false
        return {
          onMessage: () => {
            if (started) return
            started = true
            backend.snapshot().then(
              (blob) => {
                const header = backend.header()
                for (let offset = 0; offset < blob.length || offset === 0; offset += SNAPSHOT_CHUNK_BYTES) {
                  const chunk = blob.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES)
                  const remaining = blob.length - offset - chunk.length
                  if (!call.send(encodeMessage((w) => writeSnapshotChunk(w, header, remaining, chunk)))) return
                  if (blob.length === 0) break
                }
                call.end()
              },
              (error: unknown) => call.end(error instanceof GrpcError ? error : new GrpcError(13, String(error))),
            )
          },
          onEnd: () => {},
        }
      },
    }],
  ])
}
