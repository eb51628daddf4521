// Checks recorded watch streams against the truth: the store's events by revision (for example a
// fresh watch of every key from revision 1, taken at the end of a run without compaction). Per
// stream: each event is delivered at most once, revisions never go backwards, nothing the stream
// should have seen is missing up to the last revision it received, and every event it received is
// the store's event (same revision, key, type and value). Pure: no clock, no I/O.
import { assert } from "../assert.ts"

export type WatchEventType = "PUT" | "DELETE"

export interface WatchEvent {
  readonly revision: number
  readonly type: WatchEventType
  readonly key: string
  /** The value put; "" for a delete. */
  readonly value: string
}

export interface WatchStream {
  /** A label for reports, e.g. "w1 (n3, range f/ .. f0)". */
  readonly name: string
  readonly key: string
  /** etcd's range_end: undefined watches `key` alone, "\0" every key from `key` on. */
  readonly rangeEnd?: string
  /** The first revision the stream asked for (etcd's start_revision, at least 1). */
  readonly startRevision: number
  /** What it received, in order (over reconnections, as one logical stream). */
  readonly events: ReadonlyArray<WatchEvent>
}

export type WatchViolationKind = "duplicate" | "out-of-order" | "gap" | "wrong-event"

export interface WatchViolation {
  readonly stream: string
  readonly kind: WatchViolationKind
  readonly revision: number
  readonly key: string
  readonly detail: string
}

export interface WatchCheckResult {
  readonly streamsChecked: number
  readonly eventsChecked: number
  readonly violations: ReadonlyArray<WatchViolation>
}

/** Compares keys by code point, which is the order of their UTF-8 bytes (etcd's key order). */
export function compareKeys(a: string, b: string): number {
  const left = [...a]
  const right = [...b]
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const difference = left[index]!.codePointAt(0)! - right[index]!.codePointAt(0)!
    if (difference !== 0) return difference
  }
  return left.length - right.length
}

/** Whether a watch of [key, rangeEnd) (etcd's conventions for rangeEnd) covers `candidate`. */
export function watchCovers(
  stream: Pick<WatchStream, "key" | "rangeEnd">,
  candidate: string,
): boolean {
  if (stream.rangeEnd === undefined || stream.rangeEnd === "") return candidate === stream.key
  if (compareKeys(candidate, stream.key) < 0) return false
  return stream.rangeEnd === "\0" || compareKeys(candidate, stream.rangeEnd) < 0
}

const eventId = (event: Pick<WatchEvent, "revision" | "key">): string =>
  `${event.revision}\u0000${event.key}`

export function describeWatchEvent(event: WatchEvent): string {
  const value = event.type === "PUT" ? `=${JSON.stringify(event.value)}` : ""
  return `${event.type} ${JSON.stringify(event.key)}${value} @${event.revision}`
}

/** Checks every stream against `truth`, the store's events in revision order. */
export function checkWatches(
  streams: ReadonlyArray<WatchStream>,
  truth: ReadonlyArray<WatchEvent>,
): WatchCheckResult {
  const truthById = new Map<string, WatchEvent>()
  truth.forEach((event, index) => {
    const previous = truth[index - 1]
    const inOrder = previous === undefined || previous.revision <= event.revision
    assert(inOrder, "the truth is in revision order")
    assert(!truthById.has(eventId(event)), "the truth has one event per key and revision")
    truthById.set(eventId(event), event)
  })
  const violations: WatchViolation[] = []
  let eventsChecked = 0
  for (const stream of streams) {
    const start = stream.startRevision
    assert(Number.isSafeInteger(start) && start >= 1, "a watch starts at revision 1 or later")
    violations.push(...checkStream(stream, truth, truthById))
    eventsChecked += stream.events.length
  }
  return { streamsChecked: streams.length, eventsChecked, violations }
}

function checkStream(
  stream: WatchStream,
  truth: ReadonlyArray<WatchEvent>,
  truthById: ReadonlyMap<string, WatchEvent>,
): WatchViolation[] {
  const violations: WatchViolation[] = []
  const flag = (kind: WatchViolationKind, event: WatchEvent, detail: string) =>
    violations.push({ stream: stream.name, kind, revision: event.revision, key: event.key, detail })
  const delivered = new Set<string>()
  let lastRevision = 0
  for (const event of stream.events) {
    const id = eventId(event)
    if (delivered.has(id)) flag("duplicate", event, `${describeWatchEvent(event)} delivered again`)
    delivered.add(id)
    if (event.revision < lastRevision) {
      flag("out-of-order", event, `${describeWatchEvent(event)} after revision ${lastRevision}`)
    }
    lastRevision = Math.max(lastRevision, event.revision)
    const expected = truthById.get(id)
    if (!watchCovers(stream, event.key) || event.revision < stream.startRevision) {
      const watched = `from revision ${stream.startRevision}`
      flag("wrong-event", event, `${describeWatchEvent(event)} is outside the watch (${watched})`)
    } else if (expected === undefined) {
      flag("wrong-event", event, `${describeWatchEvent(event)}: the store has no such event`)
    } else if (expected.type !== event.type || expected.value !== event.value) {
      const stored = describeWatchEvent(expected)
      flag("wrong-event", event, `${describeWatchEvent(event)}: the store has ${stored}`)
    }
  }
  // Everything in the watched range from the start up to the last revision received must be there.
  for (const event of truth) {
    if (event.revision > lastRevision) break
    if (event.revision < stream.startRevision || !watchCovers(stream, event.key)) continue
    if (delivered.has(eventId(event))) continue
    flag("gap", event, `${describeWatchEvent(event)} never delivered`)
  }
  return violations
}
