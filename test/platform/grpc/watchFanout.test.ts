// Watch fan-out: watchers that receive all of a revision's events share one encoding of them
// (only the watch ID differs). Every watcher must still get exactly what eventsFor routes to it:
// its own ID, prev_kv only if it asked, filters and ranges applied, across streams.
import * as protoLoader from "@grpc/proto-loader"
import { describe, expect, it } from "vitest"
import type { Event } from "../../../src/kv/Api.ts"
import { apply, eventsFor, newStore, putRequest, utf8, type KvCommand, type WatchSpec } from "../../../src/kv/index.ts"
import type { Header } from "../../../src/platform/grpc/codec/KvCodec.ts"
import type { Method, ServerStream } from "../../../src/platform/grpc/Server.ts"
import { watchMethods } from "../../../src/platform/grpc/services/WatchService.ts"
import { WatchHub, type WatchReply } from "../../../src/server/WatchHub.ts"
import { wireLoaderOptions, type WireMessage } from "../../support/EtcdClient.ts"

const watchDefinition = (protoLoader.loadSync("etcdserverpb/rpc.proto", wireLoaderOptions)["etcdserverpb.Watch"] as protoLoader.ServiceDefinition)["Watch"]!
const encodeRequest = (request: object): Buffer => watchDefinition.requestSerialize(request)
const decodeResponse = (bytes: Uint8Array): WireMessage => watchDefinition.responseDeserialize(Buffer.from(bytes)) as WireMessage

interface Spec extends WatchSpec {
  readonly label: string
}

const spec = (label: string, key: string, rangeEnd: string, extra: Partial<WatchSpec> = {}): Spec =>
  ({ label, key: utf8(key), rangeEnd: utf8(rangeEnd), noPut: false, noDelete: false, prevKv: false, ...extra })

/** Per stream, the watchers it creates, in order (so stream-local IDs are 0, 1, ...). */
const streams: ReadonlyArray<ReadonlyArray<Spec>> = [
  [
    spec("k", "k", ""),
    spec("k+prev", "k", "", { prevKv: true }),
    spec("k* nodelete", "k", "l", { noDelete: true }),
    spec("x", "x", ""),
    spec("all", "\0", "\0"),
  ],
  [spec("k", "k", ""), spec("k+prev", "k", "", { prevKv: true }), spec("k* noput", "k", "l", { noPut: true })],
]

const header = (revision: number): Header => ({ clusterId: 7n, memberId: 9n, revision, raftTerm: 3 })

function openStream(method: Method, sent: Array<Uint8Array>) {
  if (method.kind !== "stream") throw new Error("Watch is a stream method")
  const call: ServerStream = {
    headers: [],
    closed: false,
    send: (message) => (sent.push(message), true),
    end: () => {},
  }
  return method.open(call)
}

const wireEvent = (event: Event) => ({
  type: event.type,
  key: Buffer.from(event.kv.key).toString(),
  value: Buffer.from(event.kv.value).toString(),
  modRevision: String(event.kv.modRevision),
  prevValue: event.prevKv === undefined ? undefined : Buffer.from(event.prevKv.value).toString(),
})

const decodedEvent = (event: WireMessage) => {
  const kv = event["kv"] as WireMessage
  const prevKv = event["prevKv"] as WireMessage | null
  return {
    type: event["type"],
    key: (kv["key"] as Buffer).toString(),
    value: (kv["value"] as Buffer).toString(),
    modRevision: kv["modRevision"],
    prevValue: prevKv === null ? undefined : (prevKv["value"] as Buffer).toString(),
  }
}

describe("watch fan-out", () => {
  it("sends every watcher exactly its routed events, with its own ID, when encodings are shared", () => {
    const store = newStore()
    const hub = new WatchHub(() => store)
    const method = watchMethods(hub, header).get("/etcdserverpb.Watch/Watch")!
    const sent = streams.map(() => [] as Array<Uint8Array>)
    const handlers = streams.map((_, s) => openStream(method, sent[s]!))
    streams.forEach((specs, s) => {
      for (const w of specs) {
        const filters = [...(w.noPut ? [0] : []), ...(w.noDelete ? [1] : [])]
        handlers[s]!.onMessage(encodeRequest({ createRequest: { key: w.key, rangeEnd: w.rangeEnd, prevKv: w.prevKv, filters } }))
      }
    })
    const commands: Array<KvCommand> = [
      { type: "Put", request: putRequest({ key: utf8("k"), value: utf8("1") }) },
      { type: "Put", request: putRequest({ key: utf8("k"), value: utf8("2") }) },
      { type: "Put", request: putRequest({ key: utf8("x"), value: utf8("1") }) },
      { type: "DeleteRange", request: { key: utf8("k"), rangeEnd: new Uint8Array(), prevKv: false } },
      {
        type: "Txn",
        request: {
          compare: [],
          success: [
            { type: "Put", request: putRequest({ key: utf8("k"), value: utf8("3") }) },
            { type: "Put", request: putRequest({ key: utf8("x"), value: utf8("2") }) },
          ],
          failure: [],
        },
      },
    ]
    const expected = streams.map((specs) => specs.map(() => [] as Array<ReturnType<typeof wireEvent>[]>))
    for (const command of commands) {
      const { events } = apply(store, command)
      streams.forEach((specs, s) => specs.forEach((w, id) => {
        const routed = eventsFor(w, events)
        if (routed.length > 0) expected[s]![id]!.push(routed.map(wireEvent))
      }))
      hub.publish(events)
    }
    streams.forEach((specs, s) => {
      const responses = sent[s]!.map(decodeResponse)
      const created = responses.filter((r) => r["created"] === true).map((r) => Number(r["watchId"]))
      expect(created).toEqual(specs.map((_, id) => id))
      const got = specs.map(() => [] as Array<ReturnType<typeof decodedEvent>[]>)
      for (const response of responses) {
        if (response["created"] === true) continue
        expect((response["header"] as WireMessage)["raftTerm"]).toBe("3")
        got[Number(response["watchId"])]!.push((response["events"] as WireMessage[]).map(decodedEvent))
      }
      specs.forEach((w, id) => expect(got[id], `stream ${s} watcher ${w.label}`).toEqual(expected[s]![id]))
    })
  })

  it("shares one encoding slot among watchers that get all of a revision's events with the same prev_kv choice", () => {
    const store = newStore()
    const hub = new WatchHub(() => store)
    const replies: Array<WatchReply> = []
    const streamA = hub.open((reply) => replies.push(reply))
    const streamB = hub.open((reply) => replies.push(reply))
    const create = (stream: typeof streamA, w: Spec) =>
      stream.create({ ...w, startRevision: 0, watchId: 0, progressNotify: false, fragment: false })
    create(streamA, spec("k", "k", ""))
    create(streamA, spec("k+prev", "k", "", { prevKv: true }))
    create(streamA, spec("k nodelete", "k", "", { noDelete: true }))
    create(streamB, spec("k", "k", ""))
    create(streamB, spec("k+prev", "k", "", { prevKv: true }))
    replies.length = 0
    hub.publish(apply(store, { type: "Put", request: putRequest({ key: utf8("k"), value: utf8("1") }) }).events)
    expect(replies).toHaveLength(5)
    const [aPlain, aPrev, aNoDelete, bPlain, bPrev] = replies
    expect(aPlain!.shared).toBeDefined()
    expect(bPlain!.shared).toBe(aPlain!.shared)
    expect(bPrev!.shared).toBe(aPrev!.shared)
    expect(aPrev!.shared).not.toBe(aPlain!.shared)
    // NODELETE drops nothing from a put-only revision, so that watcher shares too.
    expect(aNoDelete!.shared).toBe(aPlain!.shared)
    // A delete: watchers with NODELETE get nothing, the others share again.
    replies.length = 0
    hub.publish(apply(store, { type: "DeleteRange", request: { key: utf8("k"), rangeEnd: new Uint8Array(), prevKv: false } }).events)
    expect(replies.map((r) => r.watchId)).toEqual([0, 1, 0, 1])
    expect(replies[2]!.shared).toBe(replies[0]!.shared)
  })
})
