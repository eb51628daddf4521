// etcdserverpb.Watch: one bidirectional stream per client call, many watchers per stream.
import type { SharedEvents, WatchHub, WatchReply } from "../../../server/WatchHub.ts"
import type { Header } from "../codec/KvCodec.ts"
import { readWatchRequest, writeWatchResponse } from "../codec/WatchCodec.ts"
import type { Method } from "../Server.ts"
import { ProtoReader, ProtoWriter } from "../Wire.ts"

/** Events per response when a watcher asked for fragments (etcd splits by size; this by count). */
const FRAGMENT_EVENTS_MAX = 1000

/**
 * A reply whose events other watchers share: the header and events are encoded once per revision
 * (kept in `shared`) and only the watch ID is added per watcher. Protobuf fields may come in any
 * order, so the ID goes last.
 */
function encodeSharedReply(header: Header, reply: WatchReply, shared: SharedEvents): Uint8Array {
  if (shared.encoded === undefined) {
    const w = new ProtoWriter()
    writeWatchResponse(w, header, { ...reply, watchId: 0, fragment: false })
    shared.encoded = w.finish()
  }
  const w = new ProtoWriter(shared.encoded.length + 11)
  w.raw(shared.encoded)
  w.int64(2, reply.watchId)
  return w.finish()
}

function encodeReply(header: Header, reply: WatchReply, events: WatchReply["events"], fragment: boolean): Uint8Array {
  const w = new ProtoWriter()
  writeWatchResponse(w, header, {
    watchId: reply.watchId,
    created: reply.created,
    canceled: reply.canceled,
    compactRevision: reply.compactRevision,
    cancelReason: reply.cancelReason,
    fragment,
    events,
  })
  return w.finish()
}

export function watchMethods(hub: WatchHub, header: (revision: number) => Header): Map<string, Method> {
  return new Map<string, Method>([
    ["/etcdserverpb.Watch/Watch", {
      kind: "stream",
      open: (call) => {
        const stream = hub.open((reply) => {
          const h = header(reply.revision)
          if (reply.fragmentable && reply.events.length > FRAGMENT_EVENTS_MAX) {
            for (let at = 0; at < reply.events.length; at += FRAGMENT_EVENTS_MAX) {
              const part = reply.events.slice(at, at + FRAGMENT_EVENTS_MAX)
              call.send(encodeReply(h, reply, part, at + FRAGMENT_EVENTS_MAX < reply.events.length))
            }
            return
          }
          if (reply.shared !== undefined) call.send(encodeSharedReply(h, reply, reply.shared))
          else call.send(encodeReply(h, reply, reply.events, false))
        })
        return {
          onMessage: (bytes) => {
            const request = readWatchRequest(new ProtoReader(bytes))
            switch (request.type) {
              case "Create": {
                const create = request.request
                stream.create({
                  key: create.key,
                  rangeEnd: create.rangeEnd,
                  noPut: create.filterPut,
                  noDelete: create.filterDelete,
                  prevKv: create.prevKv,
                  startRevision: create.startRevision,
                  watchId: create.watchId,
                  progressNotify: create.progressNotify,
                  fragment: create.fragment,
                })
                return
              }
              case "Cancel": return stream.cancel(request.watchId)
              case "Progress": return stream.progress()
              case "Empty": return
            }
          },
          // etcd keeps a watch stream after the client half-closes it: events flow until the
          // client cancels the call or goes away.
          onHalfClose: () => {},
          onEnd: () => {
            hub.close(stream)
            call.end()
          },
        }
      },
    }],
  ])
}
