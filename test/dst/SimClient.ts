// A simulated client: one call in flight, on a small key set, against a member it picks at
// random (followers forward). A call that times out or whose member crashes has no completion:
// its outcome is unknown to the checker. A member that is down refuses the connection, which
// is a definite "nothing happened": such a call is not recorded and the client tries later.
//
// Register clients put, read (linearizable), delete and compare-and-set keys k0, k1, ...
// The lease client grants leases, puts one key per lease ("lease/<id>", attached to it), reads
// it, and revokes the lease or leaves it to expire. A revoke is a delete of that key, and expiry
// is recorded as a delete that may happen at any time after the grant (or never).
import {
  compare, CompareResult, deleteRangeRequest, putOp, putRequest, txnRequest, utf8, type KvResult, type LeaseId,
} from "../../src/kv/index.ts"
import type { RegisterValue } from "../../src/check/index.ts"
import type { CallRecord, HistoryRecorder } from "./HistoryRecorder.ts"
import type { Prng } from "./Prng.ts"
import type { Scheduler, SimMs } from "./Scheduler.ts"
import { leaseKey, REQUEST_TIMEOUT_MS, type SimServer } from "./SimServer.ts"

/** A client waits a little longer than the server before it gives up on an answer. */
export const CLIENT_TIMEOUT_MS = REQUEST_TIMEOUT_MS + 500
const LEASE_TTL_SECONDS_MIN = 2
const LEASE_TTL_SECONDS_MAX = 6
const PAST_LEASE_KEYS_MAX = 8

/** A write the cluster acknowledged: `key` held `value` (null: absent) at `revision`. */
export interface AckedWrite {
  readonly key: string
  readonly value: RegisterValue
  readonly revision: number
}

export interface ClientContext {
  readonly scheduler: Scheduler
  readonly recorder: HistoryRecorder
  readonly servers: ReadonlyArray<SimServer>
  readonly acked: Array<AckedWrite>
  readonly thinkMsMax: SimMs
  /** A harness error inside a completion (an assertion of the recorder): fails the run. */
  readonly onError: (error: Error) => void
}

interface HeldLease {
  readonly id: LeaseId
  readonly key: string
  readonly grantInvokeTime: number
  put: boolean
}

export class SimClient {
  readonly id: number
  /** No new calls once set (the run is healing); the call in flight finishes or times out. */
  stopping = false
  busy = false
  private valueCounter = 0
  private readonly lastSeen = new Map<string, RegisterValue>()
  private lease: HeldLease | undefined
  private readonly pastLeaseKeys: Array<string> = []

  private readonly kind: "register" | "lease"
  private readonly keys: ReadonlyArray<string>
  private readonly prng: Prng
  private readonly context: ClientContext

  constructor(
    id: number, kind: "register" | "lease", keys: ReadonlyArray<string>, prng: Prng, context: ClientContext,
  ) {
    this.id = id
    this.kind = kind
    this.keys = keys
    this.prng = prng
    this.context = context
  }

  start(): void {
    this.scheduleNext()
  }

  private scheduleNext(): void {
    if (this.stopping) return
    const thinkMs = this.prng.between(1, this.context.thinkMsMax)
    this.context.scheduler.after(thinkMs, `client ${this.id}`, () => this.act())
  }

  private act(): void {
    if (this.stopping) return
    const server = this.prng.pick(this.context.servers)
    if (server.state === "down") return this.scheduleNext()
    if (this.kind === "lease") this.leaseStep(server)
    else this.registerStep(server)
  }

  private nextValue(): string {
    return `${this.id}.${++this.valueCounter}`
  }

  private registerStep(server: SimServer): void {
    const key = this.prng.pick(this.keys)
    const roll = this.prng.below(100)
    if (roll < 35) return this.put(server, key, this.nextValue())
    if (roll < 70) return this.get(server, key)
    if (roll < 80) return this.delete(server, key)
    // Mostly the value last seen (so that some succeed), else absent or this client's last write.
    const expected = this.prng.chance(0.7)
      ? (this.lastSeen.get(key) ?? null)
      : this.prng.pick([null, `${this.id}.${this.valueCounter}`])
    this.cas(server, key, expected, this.nextValue())
  }

  private leaseStep(server: SimServer): void {
    const lease = this.lease
    if (lease === undefined) {
      // Now and then read a key whose lease was revoked or left to expire.
      if (this.pastLeaseKeys.length > 0 && this.prng.chance(0.2)) {
        return this.get(server, this.prng.pick(this.pastLeaseKeys))
      }
      return this.grant(server)
    }
    if (!lease.put) return this.put(server, lease.key, this.nextValue(), lease)
    const roll = this.prng.below(100)
    if (roll < 40) return this.get(server, lease.key)
    if (roll < 60) return this.put(server, lease.key, this.nextValue(), lease)
    this.forgetLease()
    if (roll < 85) this.revoke(server, lease)
    else this.scheduleNext() // left to expire
  }

  private forgetLease(): void {
    if (this.lease === undefined) return
    this.pastLeaseKeys.push(this.lease.key)
    if (this.pastLeaseKeys.length > PAST_LEASE_KEYS_MAX) this.pastLeaseKeys.shift()
    this.lease = undefined
  }

  private put(server: SimServer, key: string, value: string, lease?: HeldLease): void {
    if (lease !== undefined && !lease.put) {
      lease.put = true
      this.context.recorder.unanswered(this.id, { type: "delete", key }, lease.grantInvokeTime) // expiry
    }
    const call = this.context.recorder.invoke(this.id, { type: "put", key, value })
    const request = putRequest({ key: utf8(key), value: utf8(value), lease: lease?.id ?? 0n })
    this.await(server.propose({ type: "Put", request }), (result) => {
      if (result.type !== "Put") return this.omit(call) // the lease is gone: nothing was written
      this.context.recorder.complete(call, { type: "put" })
      this.acknowledged(key, value, result.response.header.revision)
    })
  }

  private get(server: SimServer, key: string): void {
    const call = this.context.recorder.invoke(this.id, { type: "get", key })
    this.await(server.linearizableGet(key), (read) => {
      this.context.recorder.complete(call, { type: "get", read })
      this.lastSeen.set(key, read)
    })
  }

  private delete(server: SimServer, key: string): void {
    const call = this.context.recorder.invoke(this.id, { type: "delete", key })
    const request = deleteRangeRequest({ key: utf8(key) })
    this.await(server.propose({ type: "DeleteRange", request }), (result) => {
      if (result.type !== "DeleteRange") return this.omit(call)
      this.context.recorder.complete(call, { type: "delete" })
      this.acknowledged(key, null, result.response.header.revision)
    })
  }

  /** etcd's Txn: if VALUE == expected (CREATE == 0 for absent) then put. */
  private cas(server: SimServer, key: string, expected: RegisterValue, value: string): void {
    const call = this.context.recorder.invoke(this.id, { type: "cas", key, expected, value })
    const bytes = utf8(key)
    const condition = expected === null
      ? compare(bytes, CompareResult.EQUAL, { target: "CREATE", createRevision: 0 })
      : compare(bytes, CompareResult.EQUAL, { target: "VALUE", value: utf8(expected) })
    const success = [putOp(putRequest({ key: bytes, value: utf8(value) }))]
    const request = txnRequest({ compare: [condition], success })
    this.await(server.propose({ type: "Txn", request }), (result) => {
      if (result.type !== "Txn") return this.omit(call)
      const succeeded = result.response.succeeded
      this.context.recorder.complete(call, { type: "cas", succeeded })
      if (succeeded) this.acknowledged(key, value, result.response.header.revision)
    })
  }

  private grant(server: SimServer): void {
    const id = this.prng.nextBig44() + 1n
    const ttl = this.prng.between(LEASE_TTL_SECONDS_MIN, LEASE_TTL_SECONDS_MAX)
    const grantInvokeTime = this.context.recorder.now()
    this.await(server.propose({ type: "LeaseGrant", request: { ttl, id } }), (result: KvResult) => {
      if (result.type === "LeaseGrant") this.lease = { id, key: leaseKey(id), grantInvokeTime, put: false }
    })
  }

  private revoke(server: SimServer, lease: HeldLease): void {
    const call = this.context.recorder.invoke(this.id, { type: "delete", key: lease.key })
    this.await(server.propose({ type: "LeaseRevoke", request: { id: lease.id } }), (result) => {
      if (result.type !== "LeaseRevoke") return this.omit(call) // already expired and revoked
      this.context.recorder.complete(call, { type: "delete" })
      this.acknowledged(lease.key, null, result.response.header.revision)
    })
  }

  private omit(call: CallRecord): void {
    call.omitted = true
  }

  private acknowledged(key: string, value: RegisterValue, revision: number): void {
    this.context.acked.push({ key, value, revision })
    this.lastSeen.set(key, value)
  }

  /**
   * Waits for `work` until the client timeout; `finish` records the answer. A failure or a
   * timeout leaves the call without completion (unknown outcome).
   */
  private await<T>(work: Promise<T>, finish: (value: T) => void): void {
    this.busy = true
    let done = false
    const next = (): void => {
      done = true
      this.busy = false
      this.scheduleNext()
    }
    this.context.scheduler.after(CLIENT_TIMEOUT_MS, `timeout ${this.id}`, () => {
      if (!done) next()
    })
    work.then(
      (value) => {
        if (done) return
        try {
          finish(value)
        } catch (error) {
          this.context.onError(error instanceof Error ? error : new Error(String(error)))
        }
        next()
      },
      () => {
        if (!done) next()
      },
    )
  }
}
