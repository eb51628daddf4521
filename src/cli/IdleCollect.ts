// Collects the garbage of a burst of requests once the verikv process goes idle.
//
// A GC runs only when JavaScript allocates. After a burst (e.g. 100,000 puts) the garbage of its
// last seconds stays: old-space objects promoted while their requests were in flight, and array
// buffers that died but are freed only by a full GC, ~100-170 MiB of RSS after loading 100,000
// keys (bench/README.md, "RSS"). V8's memory reducer is meant to collect exactly this, but it
// never fires in Node here: it waits for a low allocation rate, and that rate is sampled only at
// GCs, which an idle process does not run ("high alloc, waiting for 8000 ms" forever with
// --trace-memory-reducer).
//
// So every half second this looks at the event loop: when the last half second was idle (under 5 %
// busy) and RSS grew by 32 MiB or more since the last collection, it runs V8's memory-reducing
// full GC (the one V8 runs on memory pressure), which also compacts the old space and returns
// emptied pages. It takes tens of milliseconds with 100,000 keys, and only after such growth, so a
// steadily loaded or steadily idle server never pays for it. The gc function is V8's own
// (--expose-gc, turned on at run time, taken from a fresh context so the global has no `gc`).
import { performance, type EventLoopUtilization } from "node:perf_hooks"
import * as v8 from "node:v8"
import * as vm from "node:vm"

export interface IdleCollectOptions {
  readonly checkMs?: number
  /** The event loop was idle if it was busy for less than this share of the last check. */
  readonly idleUtilization?: number
  /** RSS growth since the last collection that makes one worth its pause. */
  readonly growthBytes?: number
  /** Told after each collection (for tests and logs). */
  readonly onCollect?: (before: { rssBytes: number }, after: { rssBytes: number }) => void
}

type GcFunction = (options: { type: "major"; flavor: "last-resort" }) => void

function v8Gc(): GcFunction | undefined {
  v8.setFlagsFromString("--expose-gc")
  const gc: unknown = vm.runInNewContext("typeof gc === 'function' ? gc : undefined")
  return typeof gc === "function" ? (gc as GcFunction) : undefined
}

/** Starts the checks (an unref'd timer: it never keeps the process alive); returns a stop. */
export function collectWhenIdle(options: IdleCollectOptions = {}): () => void {
  const gc = v8Gc()
  if (gc === undefined) return () => {}
  const idleUtilization = options.idleUtilization ?? 0.05
  const growthBytes = options.growthBytes ?? 32 << 20
  let baseline = process.memoryUsage.rss()
  let previous: EventLoopUtilization = performance.eventLoopUtilization()
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    const busy = performance.eventLoopUtilization(now, previous).utilization
    previous = now
    const rssBytes = process.memoryUsage.rss()
    // Grown less, or shrunk (e.g. freed by V8 itself): only move the baseline down.
    if (rssBytes < baseline) baseline = rssBytes
    if (busy >= idleUtilization || rssBytes - baseline < growthBytes) return
    gc({ type: "major", flavor: "last-resort" })
    baseline = process.memoryUsage.rss()
    previous = performance.eventLoopUtilization()
    options.onCollect?.({ rssBytes }, { rssBytes: baseline })
  }, options.checkMs ?? 500)
  timer.unref()
  return () => clearInterval(timer)
}
