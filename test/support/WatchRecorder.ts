// Records one logical etcd watch stream over gRPC, as a client library would keep it alive: when
// the stream breaks (member killed, removed, connection reset) it is created again from the
// revision after the last one received, on the next endpoint `endpoints()` names. The events, in
// arrival order over every reconnection, are what src/check/watch.ts checks. Bounded: stop() ends
// it, and a stream that is canceled by the server (e.g. compaction) is not resumed.
import * as grpc from "@grpc/grpc-js"
import type { WatchEvent } from "../../src/check/watch.ts"
import { loadDefinition, testChannelOptions, type WireMessage } from "./EtcdClient.ts"
import { delay } from "./EtcdProcess.ts"

export interface WatchSpec {
  readonly key: string
  /** etcd's range_end: undefined for one key, "\0" for every key from `key` on. */
  readonly rangeEnd?: string
  /** At least 1. */
  readonly startRevision: number
}

export interface WatchRecorder {
  readonly spec: WatchSpec
  readonly events: ReadonlyArray<WatchEvent>
  /** How often the stream was created again after a break. */
  readonly resumes: () => number
  /** Why the server canceled the stream, if it did. */
  readonly canceledBecause: () => string | undefined
  /** The highest revision received (0 before any event). */
  readonly lastRevision: () => number
  readonly stop: () => Promise<void>
}

const resumeDelayMs = 100
const reconnectBackoffMaxMs = 500

type WatchClient = grpc.Client & { Watch: () => grpc.ClientDuplexStream<object, WireMessage> }

function watchClient(endpoint: string): WatchClient {
  const etcdserverpb = grpc.loadPackageDefinition(loadDefinition()).etcdserverpb as grpc.GrpcObject
  const constructor = etcdserverpb.Watch as grpc.ServiceClientConstructor
  return new constructor(endpoint, grpc.credentials.createInsecure(), testChannelOptions({ reconnectBackoffMaxMs })) as unknown as WatchClient
}

function eventsOf(response: WireMessage): WatchEvent[] {
  const events = (response.events ?? []) as ReadonlyArray<WireMessage>
  return events.map((event) => {
    const kv = event.kv as WireMessage
    return {
      revision: Number(kv.modRevision),
      type: event.type === 1 ? "DELETE" : "PUT",
      key: (kv.key as Buffer).toString(),
      value: event.type === 1 ? "" : (kv.value as Buffer).toString(),
    }
  })
}

export function startWatchRecorder(spec: WatchSpec, endpoints: () => ReadonlyArray<string>): WatchRecorder {
  const events: WatchEvent[] = []
  let resumes = 0
  let canceledBecause: string | undefined
  let stopping = false
  let current: { readonly client: WatchClient; readonly call: grpc.ClientDuplexStream<object, WireMessage> } | undefined
  const lastRevision = () => events.at(-1)?.revision ?? 0

  /** One stream on one endpoint; resolves when it breaks or is canceled. */
  const runStream = (endpoint: string) => new Promise<void>((resolve) => {
    const client = watchClient(endpoint)
    const call = client.Watch()
    current = { client, call }
    const end = () => {
      call.removeAllListeners()
      call.on("error", () => {})
      call.cancel()
      client.close()
      resolve()
    }
    call.on("data", (response: WireMessage) => {
      if (response.canceled === true) {
        canceledBecause = String(response.cancelReason ?? "canceled") || "canceled"
        return end()
      }
      events.push(...eventsOf(response))
    })
    call.on("error", end)
    call.on("end", end)
    call.write({
      createRequest: {
        key: Buffer.from(spec.key),
        rangeEnd: Buffer.from(spec.rangeEnd ?? ""),
        startRevision: Math.max(spec.startRevision, lastRevision() + 1),
      },
    })
  })

  const done = (async () => {
    for (let attempt = 0; !stopping && canceledBecause === undefined; attempt++) {
      const choices = endpoints()
      const endpoint = choices[attempt % Math.max(1, choices.length)]
      if (endpoint !== undefined) {
        if (attempt > 0) resumes++
        await runStream(endpoint)
      }
      if (!stopping) await delay(resumeDelayMs)
    }
  })()

  return {
    spec,
    events,
    resumes: () => resumes,
    canceledBecause: () => canceledBecause,
    lastRevision,
    stop: async () => {
      stopping = true
      current?.call.cancel()
      await done
    },
  }
}
