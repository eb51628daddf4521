// Requests waiting for the log: a proposal waits for its entry to be applied, a linearizable
// read for its ReadIndex to be applied. Each waiter has a deadline, so a request that can never
// finish (its entry was overwritten by another leader, the quorum is gone) gets etcd's timeout
// error instead of hanging.
import { assert } from "../assert.ts"

export interface Waiter<T> {
  readonly resolve: (value: T) => void
  readonly reject: (error: Error) => void
  readonly deadlineMs: number
}

export class WaiterMap<K, T> {
  private readonly waiters = new Map<K, Waiter<T>>()

  get size(): number {
    return this.waiters.size
  }

  add(key: K, waiter: Waiter<T>): void {
    assert(!this.waiters.has(key), "waiter: duplicate key")
    this.waiters.set(key, waiter)
  }

  /** Hands `value` to the waiter of `key`, if any is still waiting. */
  resolve(key: K, value: T): boolean {
    const waiter = this.waiters.get(key)
    if (waiter === undefined) return false
    this.waiters.delete(key)
    waiter.resolve(value)
    return true
  }

  /** Fails the waiter of `key`, if any is still waiting. */
  reject(key: K, error: Error): boolean {
    const waiter = this.waiters.get(key)
    if (waiter === undefined) return false
    this.waiters.delete(key)
    waiter.reject(error)
    return true
  }

  /** Fails every waiter whose deadline has passed. Map order is insertion order = deadline order. */
  expire(nowMs: number, error: () => Error): void {
    for (const [key, waiter] of this.waiters) {
      if (waiter.deadlineMs > nowMs) break
      this.waiters.delete(key)
      waiter.reject(error())
    }
  }

  rejectAll(error: Error): void {
    const all = [...this.waiters.values()]
    this.waiters.clear()
    for (const waiter of all) waiter.reject(error)
  }
}
