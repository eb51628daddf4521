// Records the clients' operations in src/check's history format, on one clock consistent with
// simulated time: time = ms * 1000 + the order of the record within that ms. Distinct times keep
// "returned before the other was called" exact, and time / 1000 still reads as milliseconds.
import { assert } from "../../src/assert.ts"
import { keysOf, type Command, type History, type Operation, type Outcome } from "../../src/check/index.ts"
import type { Scheduler } from "./Scheduler.ts"

const RECORDS_PER_MS_MAX = 1000

/** One client call; `outcome` stays undefined if the client never heard back. */
export interface CallRecord {
  readonly clientId: number
  readonly command: Command
  readonly invokeTime: number
  completion: { readonly returnTime: number; readonly outcome: Outcome } | undefined
  /** The call definitely did nothing (e.g. a put on a lease that no longer exists): left out. */
  omitted: boolean
}

export class HistoryRecorder {
  private readonly calls: Array<CallRecord> = []
  private lastMs = -1
  private withinMs = 0
  private readonly scheduler: Scheduler

  constructor(scheduler: Scheduler) {
    this.scheduler = scheduler
  }

  now(): number {
    const ms = this.scheduler.nowMs
    if (ms !== this.lastMs) {
      this.lastMs = ms
      this.withinMs = 0
    }
    assert(this.withinMs < RECORDS_PER_MS_MAX, "history: too many records in one millisecond")
    return ms * RECORDS_PER_MS_MAX + this.withinMs++
  }

  invoke(clientId: number, command: Command): CallRecord {
    const call: CallRecord = { clientId, command, invokeTime: this.now(), completion: undefined, omitted: false }
    this.calls.push(call)
    this.scheduler.fold(this.scheduler.nowMs, `invoke ${clientId} ${command.type} ${keysOf(command).join(",")}`)
    return call
  }

  complete(call: CallRecord, outcome: Outcome): void {
    assert(call.completion === undefined, "history: a call completed twice")
    call.completion = { returnTime: this.now(), outcome }
    this.scheduler.fold(this.scheduler.nowMs, `return ${call.clientId} ${JSON.stringify(outcome)}`)
  }

  /** A call that may take effect any time after `invokeTime`, or never (lease expiry). */
  unanswered(clientId: number, command: Command, invokeTime: number): void {
    this.calls.push({ clientId, command, invokeTime, completion: undefined, omitted: false })
  }

  history(): History {
    return this.calls
      .filter((call) => !call.omitted)
      .map((call): Operation => {
        const operation = { clientId: call.clientId, command: call.command, invokeTime: call.invokeTime }
        return call.completion === undefined ? operation : { ...operation, completion: call.completion }
      })
  }
}
