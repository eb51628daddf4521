// Watch routing, after etcd 3.4's watchableStore and v3rpc/watch.go: which watchers receive which
// events of a revision, and the catch-up a watcher starting in the past gets from history.
import { EventType, type Bytes, type Event } from "./Api.ts"
import { inSpan, keyString } from "./Bytes.ts"
import { NONE, recordAt } from "./KeyIndex.ts"
import { deletedKeyValue, toKeyValue } from "./KeyValues.ts"
import { historyStart, keyOf, type KvStore } from "./Store.ts"

export interface WatchSpec {
  readonly key: Bytes
  /** Empty: the key only; "\0": every key >= key; else [key, rangeEnd). */
  readonly rangeEnd: Bytes
  readonly noPut: boolean
  readonly noDelete: boolean
  readonly prevKv: boolean
}

/** The events of one revision that `watcher` receives, with prev_kv only if it asked. */
export function eventsFor(watcher: WatchSpec, events: ReadonlyArray<Event>): Event[] {
  const chosen: Event[] = []
  for (const event of events) {
    if (!inSpan(event.kv.key, watcher.key, watcher.rangeEnd)) continue
    if (event.type === EventType.PUT ? watcher.noPut : watcher.noDelete) continue
    chosen.push(watcher.prevKv ? event : { ...event, prevKv: undefined })
  }
  return chosen
}

export type CatchUp =
  | { readonly type: "Compacted"; readonly compactRevision: number }
  | { readonly type: "Events"; readonly events: Event[]; readonly nextRevision: number }

/**
 * What a watcher created at `startRevision` gets before live events: nothing for 0 or a future
 * start (it waits from max(current + 1, start)), compact_revision when the start is below the
 * compaction, else the stored changes from the start through the current revision.
 */
export function catchUp(store: KvStore, watcher: WatchSpec, startRevision: number): CatchUp {
  const current = store.currentRevision
  if (startRevision === 0 || startRevision > current) {
    return { type: "Events", events: [], nextRevision: Math.max(current + 1, startRevision) }
  }
  if (startRevision < store.compactRevision) return { type: "Compacted", compactRevision: store.compactRevision }
  const events: Event[] = []
  const log = store.log
  for (let position = historyStart(store, startRevision); position < log.length; position++) {
    const event: Event = log.isTombstone(position)
      ? { type: EventType.DELETE, kv: deletedKeyValue(keyOf(store, position), log.main(position)), prevKv: undefined }
      : { type: EventType.PUT, kv: toKeyValue(store, position), prevKv: undefined }
    const [routed] = eventsFor(watcher, [event])
    if (routed === undefined) continue
    events.push(watcher.prevKv ? withPrevKv(store, routed) : routed)
  }
  return { type: "Events", events, nextRevision: current + 1 }
}

/** etcd reads prev_kv at mod_revision - 1 (none for a create, or when that revision is compacted). */
function withPrevKv(store: KvStore, event: Event): Event {
  if (event.type === EventType.PUT && event.kv.version === 1) return event
  const at = event.kv.modRevision - 1
  if (at < store.compactRevision) return event
  const latest = store.index.get(keyString(event.kv.key))
  const record = latest === undefined ? NONE : recordAt(store.log, latest, at)
  return record === NONE ? event : { ...event, prevKv: toKeyValue(store, record) }
}
