// Watchers of all client streams, fed with each applied revision's events (etcd's
// watchableStore + v3rpc watch stream, minus the wire). A watcher first catches up from history,
// then gets every later revision's matching events once, in order.
import { EventType, type Event } from "../kv/Api.ts"
import { compareBytes, inSpan } from "../kv/Bytes.ts"
import { catchUp, eventsFor, type KvStore, type WatchSpec } from "../kv/index.ts"

export interface WatchCreate extends WatchSpec {
  readonly startRevision: number
  /** 0: the stream picks the next free ID. */
  readonly watchId: number
  readonly progressNotify: boolean
  readonly fragment: boolean
}

/** One response to a stream (the wire layer adds the header's IDs and term). */
export interface WatchReply {
  readonly revision: number
  readonly watchId: number
  readonly created: boolean
  readonly canceled: boolean
  readonly compactRevision: number
  readonly cancelReason: string
  readonly events: ReadonlyArray<Event>
  /** The watcher asked for large replies to be split into fragments. */
  readonly fragmentable: boolean
  /**
   * Set when other watchers of this revision get the very same events: the wire layer may
   * encode them once and keep the encoding here for the others (fan-out to many watchers).
   */
  readonly shared: SharedEvents | undefined
}

/** One revision's events as many watchers receive them; `encoded` is the wire layer's cache. */
export interface SharedEvents {
  encoded: Uint8Array | undefined
}

/**
 * One applied revision, routed to every watcher. Watchers that receive all of its events (the
 * common case: many watchers of one key or prefix) share one events list per prev_kv choice,
 * so the list is built, and encoded, once rather than once per watcher.
 */
class RevisionBatch {
  readonly revision: number
  private readonly events: ReadonlyArray<Event>
  private withPrevKv: { readonly events: ReadonlyArray<Event>; readonly shared: SharedEvents } | undefined
  private withoutPrevKv: { readonly events: ReadonlyArray<Event>; readonly shared: SharedEvents } | undefined
  private readonly hasPut: boolean
  private readonly hasDelete: boolean

  constructor(events: ReadonlyArray<Event>) {
    this.events = events
    this.revision = events[0]!.kv.modRevision
    this.hasPut = events.some((event) => event.type === EventType.PUT)
    this.hasDelete = events.some((event) => event.type === EventType.DELETE)
  }

  /** The events `spec` receives, and the shared slot when they are all of the revision's events. */
  routeTo(spec: WatchSpec): { readonly events: ReadonlyArray<Event>; readonly shared: SharedEvents | undefined } {
    const filtersSome = (spec.noPut && this.hasPut) || (spec.noDelete && this.hasDelete)
    if (filtersSome || !this.events.every((event) => inSpan(event.kv.key, spec.key, spec.rangeEnd))) {
      return { events: eventsFor(spec, this.events), shared: undefined }
    }
    if (spec.prevKv) {
      return (this.withPrevKv ??= { events: this.events, shared: { encoded: undefined } })
    }
    return (this.withoutPrevKv ??= {
      events: this.events.map((event) => (event.prevKv === undefined ? event : { ...event, prevKv: undefined })),
      shared: { encoded: undefined },
    })
  }
}

interface Watcher {
  readonly id: number
  readonly spec: WatchSpec
  readonly progressNotify: boolean
  readonly fragment: boolean
  /** The next revision this watcher may receive: it has seen everything below. */
  nextRevision: number
  /** Whether anything was sent since the last progress notification. */
  sentSinceProgress: boolean
}

const reply = (revision: number, watchId: number, fields: Partial<WatchReply>): WatchReply => ({
  revision, watchId, created: false, canceled: false, compactRevision: 0, cancelReason: "", events: [], fragmentable: false, shared: undefined, ...fields,
})

/** One client stream's watchers. */
export class WatchStream {
  private readonly watchers = new Map<number, Watcher>()
  private nextId = 0
  private readonly hub: WatchHub
  readonly send: (reply: WatchReply) => void

  constructor(hub: WatchHub, send: (reply: WatchReply) => void) {
    this.hub = hub
    this.send = send
  }

  create(request: WatchCreate): void {
    const store = this.hub.store()
    const current = store.currentRevision
    // As etcd: an empty key means "\0", the smallest key; a range must not be empty.
    const key = request.key.length === 0 ? Uint8Array.of(0) : Uint8Array.from(request.key)
    const rangeEnd = Uint8Array.from(request.rangeEnd)
    const fromKey = rangeEnd.length === 1 && rangeEnd[0] === 0
    if (rangeEnd.length > 0 && !fromKey && compareBytes(key, rangeEnd) >= 0) {
      return this.send(reply(current, -1, { created: true, canceled: true, cancelReason: "mvcc: watcher range is empty" }))
    }
    let id = request.watchId
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++
      id = this.nextId++
    } else if (this.watchers.has(id)) {
      return this.send(reply(current, -1, { created: true, canceled: true, cancelReason: "mvcc: duplicate watch ID provided on the WatchStream" }))
    }
    const spec: WatchSpec = { key, rangeEnd, noPut: request.noPut, noDelete: request.noDelete, prevKv: request.prevKv }
    this.send(reply(current, id, { created: true }))
    const start = catchUp(store, spec, request.startRevision)
    if (start.type === "Compacted") {
      // etcd cancels with the compaction revision and no reason; clients derive the error from it.
      return this.send(reply(current, id, { canceled: true, compactRevision: start.compactRevision }))
    }
    const watcher: Watcher = { id, spec, progressNotify: request.progressNotify, fragment: request.fragment, nextRevision: start.nextRevision, sentSinceProgress: false }
    this.watchers.set(id, watcher)
    if (start.events.length > 0) {
      watcher.sentSinceProgress = true
      this.send(reply(current, id, { events: start.events, fragmentable: watcher.fragment }))
    }
  }

  cancel(id: number): void {
    if (!this.watchers.delete(id)) return
    this.send(reply(this.hub.store().currentRevision, id, { canceled: true }))
  }

  /** A client's progress request: etcd answers with watch ID -1 at the current revision. */
  progress(): void {
    this.send(reply(this.hub.store().currentRevision, -1, {}))
  }

  deliver(batch: RevisionBatch): void {
    const revision = batch.revision
    for (const watcher of this.watchers.values()) {
      if (revision < watcher.nextRevision) continue
      watcher.nextRevision = revision + 1
      const { events, shared } = batch.routeTo(watcher.spec)
      if (events.length === 0) continue
      watcher.sentSinceProgress = true
      this.send({
        revision, watchId: watcher.id, created: false, canceled: false, compactRevision: 0, cancelReason: "",
        events, fragmentable: watcher.fragment, shared,
      })
    }
  }

  /** The periodic progress notification for idle watchers that asked for it. */
  notifyProgress(revision: number): void {
    for (const watcher of this.watchers.values()) {
      if (!watcher.progressNotify) continue
      if (!watcher.sentSinceProgress) this.send(reply(revision, watcher.id, {}))
      watcher.sentSinceProgress = false
    }
  }

  get size(): number {
    return this.watchers.size
  }
}

export class WatchHub {
  private readonly streams = new Set<WatchStream>()
  readonly store: () => KvStore

  constructor(store: () => KvStore) {
    this.store = store
  }

  open(send: (reply: WatchReply) => void): WatchStream {
    const stream = new WatchStream(this, send)
    this.streams.add(stream)
    return stream
  }

  close(stream: WatchStream): void {
    this.streams.delete(stream)
  }

  /** One applied revision's events, all of the same revision. */
  publish(events: ReadonlyArray<Event>): void {
    if (this.streams.size === 0) return
    const batch = new RevisionBatch(events)
    for (const stream of this.streams) stream.deliver(batch)
  }

  notifyProgress(): void {
    const revision = this.store().currentRevision
    for (const stream of this.streams) stream.notifyProgress(revision)
  }

  get watcherCount(): number {
    let count = 0
    for (const stream of this.streams) count += stream.size
    return count
  }
}
