// A write load through several members: concurrent writers of unique keys, each with one put in
// flight. A writer whose put fails moves on to the next member (its member may be dead or cut
// off), so the load keeps going through whatever can still commit. Every put is in the ledger
// with its value and, when acknowledged, the time it was sent and answered: the ledger is what
// the checks hold each member to, and the times give the fail-over time.
import { randomBytes } from "node:crypto"
import { connectEtcd, type EtcdClient } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import type { ClusterMember } from "../../support/VerikvCluster.ts"

export const loadPrefix = "cluster-load/"

export interface Ack {
  readonly member: string
  readonly sentMs: number
  readonly answeredMs: number
}

export class Ledger {
  /** Every put sent: key -> value. */
  readonly sent = new Map<string, string>()
  readonly acked = new Map<string, Ack>()
  /** Failed puts, by error text (they may have been applied or not). */
  readonly failures = new Map<string, number>()

  next(label: string): { readonly key: string; readonly value: string } {
    const key = `${loadPrefix}${label}`
    const value = `${label}:${randomBytes(6).toString("hex")}`
    this.sent.set(key, value)
    return { key, value }
  }

  /** Puts acknowledged by a member, sent in [fromMs, toMs). */
  ackedThrough(member: string, fromMs: number, toMs = Infinity): number {
    let count = 0
    for (const ack of this.acked.values()) {
      if (ack.member === member && ack.sentMs >= fromMs && ack.sentMs < toMs) count++
    }
    return count
  }
}

/**
 * Measures a fail-over as a client sees it: from `sinceMs` (the kill), a fresh put goes to every
 * member every `intervalMs` without waiting for earlier ones (those sent into the dead leader's
 * term may wait out the request timeout), until one is acknowledged. Returns how long after
 * `sinceMs` that was, or undefined after `boundMs`. The probes' puts join the ledger; those still
 * in flight at the end are cancelled and count as unacknowledged.
 */
export async function probeFirstCommit(
  members: ReadonlyArray<ClusterMember>, ledger: Ledger, sinceMs: number, boundMs: number,
): Promise<{ readonly afterMs: number; readonly member: string } | undefined> {
  const intervalMs = 50
  const clients = members.map((m) => connectEtcd(m.clientEndpoint))
  let first: { afterMs: number; member: string } | undefined
  try {
    for (let round = 0; first === undefined && performance.now() - sinceMs < boundMs; round++) {
      members.forEach((member, k) => {
        const { key, value } = ledger.next(`probe/${member.name}/${round}`)
        const sentMs = performance.now()
        void clients[k]!.call("KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) }).then((outcome) => {
          if (!outcome.ok) return
          const answeredMs = performance.now()
          ledger.acked.set(key, { member: member.name, sentMs, answeredMs })
          if (first === undefined || answeredMs - sinceMs < first.afterMs) first = { afterMs: answeredMs - sinceMs, member: member.name }
        })
      })
      await delay(intervalMs)
    }
    return first
  } finally {
    for (const client of clients) client.close()
  }
}

export interface RunningLoad {
  /** Stops the writers after their current put and waits for them (bounded by the put deadline). */
  readonly stop: () => Promise<void>
}

/** Pause after a failed put, so a writer facing a dead member does not spin. */
const retryDelayMs = 20

export function startClusterLoad(
  members: ReadonlyArray<ClusterMember>, ledger: Ledger, writers: number, label: string,
): RunningLoad {
  const clients: EtcdClient[] = members.map((m) => connectEtcd(m.clientEndpoint))
  let stopping = false
  const writer = async (w: number): Promise<void> => {
    let target = w % members.length
    for (let seq = 0; !stopping; seq++) {
      const { key, value } = ledger.next(`${label}/${w}/${seq}`)
      const sentMs = performance.now()
      const outcome = await clients[target]!.call("KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) })
      if (outcome.ok) {
        ledger.acked.set(key, { member: members[target]!.name, sentMs, answeredMs: performance.now() })
        continue
      }
      ledger.failures.set(outcome.message, (ledger.failures.get(outcome.message) ?? 0) + 1)
      target = (target + 1) % members.length
      await delay(retryDelayMs)
    }
  }
  const done = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)))
  return {
    stop: async () => {
      stopping = true
      await done
      for (const client of clients) client.close()
    },
  }
}
