// Simulated time: a discrete-event queue ordered by (time, sequence number). Every delivery,
// tick, fsync completion, node turn and client action is an event. The sequence number breaks
// ties in scheduling order, so equal times never depend on heap internals.
import { assert } from "../../src/assert.ts"

/** A point on the simulated clock, in milliseconds since the run began. */
export type SimMs = number

interface Event {
  readonly timeMs: SimMs
  readonly sequence: number
  /** What the event is, folded into the run's event-log hash (e.g. "d1>2 AppendEntriesRequest"). */
  readonly label: string
  readonly run: () => void
}

export class Scheduler {
  nowMs: SimMs = 0
  /** Events executed so far. */
  executed = 0
  /** FNV-1a over every executed event's time and label: two runs are the same iff this matches. */
  eventHash = 0x811c9dc5
  private sequence = 0
  private readonly heap: Array<Event> = []

  get pending(): number {
    return this.heap.length
  }

  /** Runs `run` after `delayMs` (0: after every event already due now). */
  after(delayMs: SimMs, label: string, run: () => void): void {
    assert(Number.isInteger(delayMs) && delayMs >= 0, "scheduler: delay must be a non-negative integer")
    this.push({ timeMs: this.nowMs + delayMs, sequence: this.sequence++, label, run })
  }

  /** Executes the next event; false if none is left. */
  runNext(): boolean {
    const event = this.pop()
    if (event === undefined) return false
    assert(event.timeMs >= this.nowMs, "scheduler: time went backwards")
    this.nowMs = event.timeMs
    this.executed++
    this.fold(event.timeMs, event.label)
    event.run()
    return true
  }

  /** The time of the next event, if any. */
  peekTimeMs(): SimMs | undefined {
    return this.heap[0]?.timeMs
  }

  /** Folds something that is not an event (a history record, a fault) into the hash. */
  fold(timeMs: SimMs, label: string): void {
    let hash = Math.imul(this.eventHash ^ timeMs, 0x01000193) >>> 0
    for (let k = 0; k < label.length; k++) hash = Math.imul(hash ^ label.charCodeAt(k), 0x01000193) >>> 0
    this.eventHash = hash
  }

  private static before(a: Event, b: Event): boolean {
    return a.timeMs !== b.timeMs ? a.timeMs < b.timeMs : a.sequence < b.sequence
  }

  private push(event: Event): void {
    const heap = this.heap
    heap.push(event)
    let child = heap.length - 1
    while (child > 0) {
      const parent = (child - 1) >> 1
      if (!Scheduler.before(heap[child]!, heap[parent]!)) break
      ;[heap[child], heap[parent]] = [heap[parent]!, heap[child]!]
      child = parent
    }
  }

  private pop(): Event | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    heap[0] = last
    let parent = 0
    for (;;) {
      const left = 2 * parent + 1
      const right = left + 1
      let smallest = parent
      if (left < heap.length && Scheduler.before(heap[left]!, heap[smallest]!)) smallest = left
      if (right < heap.length && Scheduler.before(heap[right]!, heap[smallest]!)) smallest = right
      if (smallest === parent) break
      ;[heap[parent], heap[smallest]] = [heap[smallest]!, heap[parent]!]
      parent = smallest
    }
    return top
  }
}

/**
 * Lets every promise continuation triggered by the last event run. Nothing else real is
 * scheduled during a run (no timers, no I/O), so one macrotask hop drains the microtask queue
 * the same way every time.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
