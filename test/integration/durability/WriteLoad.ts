// Concurrent writers of unique keys. Each writer sends one put at a time and records it in the
// ledger when the server acknowledges it; it stops at the first failure (the server was killed)
// or when told to stop.
import type { EtcdClient } from "../../support/EtcdClient.ts"
import type { AckedWrites } from "./AckedWrites.ts"

export interface LoadResult {
  readonly acked: number
  readonly failed: number
}

export interface RunningLoad {
  /** Puts acknowledged so far. */
  readonly acked: () => number
  /** Asks the writers to stop after their current put, and waits for them. */
  readonly stop: () => Promise<LoadResult>
  /** Resolves once every writer has stopped (after stop(), or after each one's first failure). */
  readonly done: Promise<LoadResult>
}

export function startLoad(
  clients: ReadonlyArray<EtcdClient>, ledger: AckedWrites, writers: number, label: string,
): RunningLoad {
  let stopping = false
  let acked = 0
  let failed = 0
  const writer = async (w: number): Promise<void> => {
    const client = clients[w % clients.length]!
    for (let seq = 0; !stopping; seq++) {
      const { key, value } = ledger.next(`${label}/${w}/${seq}`)
      const outcome = await client.call("KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) })
      if (!outcome.ok) {
        failed++
        return
      }
      ledger.acked.add(key)
      acked++
    }
  }
  const done = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)))
    .then(() => ({ acked, failed }))
  return {
    acked: () => acked,
    done,
    stop: () => {
      stopping = true
      return done
    },
  }
}
