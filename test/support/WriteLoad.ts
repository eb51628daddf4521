// A concurrent write load for cluster tests: writers put unique keys (each written once, with a
// value naming it) through the members a test names, spread over them, until stopped. Every put
// a member acknowledged is remembered, so that a test can check afterwards that each one is on
// every member it still has. Failures (a member stopped, no leader for a moment) are counted,
// not fatal: the load runs through faults.
import { connectEtcd, type EtcdClient } from "./EtcdClient.ts"
import { delay } from "./EtcdProcess.ts"

export interface WriteLoad {
  /** Acknowledged key → value. */
  readonly acknowledged: ReadonlyMap<string, string>
  readonly failures: () => number
  /** The failure messages seen, with how often. */
  readonly failureKinds: () => ReadonlyMap<string, number>
  /** Ends the load once every writer's current put has finished. */
  readonly stop: () => Promise<void>
}

export const loadPrefix = "load/"

/** `endpoints()` is asked before each put, so a test can take members out of the rotation. */
export function startWriteLoad(endpoints: () => ReadonlyArray<string>, writers = 4): WriteLoad {
  const acknowledged = new Map<string, string>()
  const failureKinds = new Map<string, number>()
  let failures = 0
  let running = true
  const clients = new Map<string, EtcdClient>()
  const clientFor = (endpoint: string) => {
    let client = clients.get(endpoint)
    if (client === undefined) {
      client = connectEtcd(endpoint)
      clients.set(endpoint, client)
    }
    return client
  }
  const writer = async (w: number) => {
    for (let seq = 0; running; seq++) {
      const targets = endpoints()
      const endpoint = targets[(w + seq) % Math.max(1, targets.length)]
      if (endpoint === undefined) {
        await delay(50)
        continue
      }
      const key = `${loadPrefix}${w}/${String(seq).padStart(7, "0")}`
      const value = `v-${w}-${seq}`
      const outcome = await clientFor(endpoint).call("KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) })
      if (outcome.ok) acknowledged.set(key, value)
      else {
        failures++
        failureKinds.set(outcome.message, (failureKinds.get(outcome.message) ?? 0) + 1)
        await delay(20)
      }
    }
  }
  const done = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)))
  return {
    acknowledged,
    failures: () => failures,
    failureKinds: () => failureKinds,
    stop: async () => {
      running = false
      await done
      for (const client of clients.values()) client.close()
    },
  }
}

/** What a member has under the load prefix, read through a linearizable range (so it is caught up). */
export async function readLoadKeys(endpoint: string): Promise<Map<string, string>> {
  const client = connectEtcd(endpoint)
  try {
    const outcome = await client.call("KV", "Range", { key: Buffer.from(loadPrefix), rangeEnd: Buffer.from("load0") })
    if (!outcome.ok) throw new Error(`range on ${endpoint} failed: ${outcome.message}`)
    const kvs = outcome.response.kvs as Array<{ key: Buffer; value: Buffer }>
    return new Map(kvs.map((kv) => [kv.key.toString(), kv.value.toString()]))
  } finally {
    client.close()
  }
}

/** Acknowledged writes missing from (or different on) a member's keys: none, if nothing was lost. */
export function lostWrites(acknowledged: ReadonlyMap<string, string>, found: ReadonlyMap<string, string>): string[] {
  return [...acknowledged].filter(([key, value]) => found.get(key) !== value).map(([key]) => key)
}
