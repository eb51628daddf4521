// --experimental-trace-file: a member's Raft transitions as NDJSON, for trace validation
// (`npm run validate-traces -- --server-traces DIR`). Each start appends a Start line (what the
// node recovered), then the core's spec-action events (src/raft/TraceJson.ts) and the node
// loop's events (src/server/NodeTraceJson.ts), in the order they happened.
//
// Writing is synchronous, in batches: lines gather in memory and go to the file with one
// appending write when `traceBufferBytesMax` is reached, every `traceFlushIntervalMs`, and at
// process exit. Synchronous because that keeps both order and memory bound trivially true: a
// slow disk stalls the loop instead of growing a queue of pending async writes (which would need
// its own bound and a policy for when it is full: dropping lines breaks the trace, waiting is
// what writeSync does). A trace is an opt-in debugging aid; without the flag no callback is set
// and the core and node loop allocate nothing for it. A kill loses at most the unflushed tail,
// and a validator reads the rest as a prefix of the run.
import fs from "node:fs"
import { assert } from "../assert.ts"
import type { RaftOptions, Storage } from "../raft/Api.ts"
import type { TraceEvent } from "../raft/Trace.ts"
import { encodeCoreEvent, type Json } from "../raft/TraceJson.ts"
import type { NodeLoopEvent } from "./NodeTrace.ts"
import { encodeNodeLoopEvent, encodeStart } from "./NodeTraceJson.ts"

/** Buffered trace text (UTF-16 code units, near enough bytes for JSON) that forces a write. */
export const traceBufferBytesMax = 1 << 20
export const traceFlushIntervalMs = 200

export class TraceFile {
  private readonly fd: number
  private lines: string[] = []
  private bufferedBytes = 0
  private readonly timer: NodeJS.Timeout
  private readonly flushAtExit = (): void => this.flushUnsafe()
  private closed = false

  /** Opens (creating, or appending to) `path`; the caller then writes `start` before any event. */
  constructor(path: string) {
    this.fd = fs.openSync(path, "a")
    this.timer = setInterval(() => this.flushUnsafe(), traceFlushIntervalMs)
    this.timer.unref()
    process.on("exit", this.flushAtExit)
  }

  /** The first line of this start: the node's id, options and recovered durable state. */
  start(options: RaftOptions, recovered: Storage): void {
    this.append(encodeStart(options, recovered))
  }

  /** RaftOptions.trace */
  readonly core = (event: TraceEvent): void => this.append(encodeCoreEvent(event))
  /** RaftNodeOptions.trace */
  readonly loop = (event: NodeLoopEvent): void => this.append(encodeNodeLoopEvent(event))

  private append(line: Json): void {
    if (this.closed) return
    const text = JSON.stringify(line)
    this.lines.push(text)
    this.bufferedBytes += text.length + 1
    if (this.bufferedBytes >= traceBufferBytesMax) this.flushUnsafe()
  }

  /** Appends the buffered lines to the file (one write). */
  flushUnsafe(): void {
    if (this.lines.length === 0) return
    assert(!this.closed, "TraceFile: flush after close")
    const text = this.lines.join("\n") + "\n"
    this.lines = []
    this.bufferedBytes = 0
    fs.writeSync(this.fd, text)
  }

  closeUnsafe(): void {
    if (this.closed) return
    this.flushUnsafe()
    this.closed = true
    clearInterval(this.timer)
    process.off("exit", this.flushAtExit)
    fs.closeSync(this.fd)
  }
}
