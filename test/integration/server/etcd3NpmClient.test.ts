// The `etcd3` npm client, unchanged, against a real verikv process: KV, a watch, a lease kept
// alive by the client with a key attached. Every wait is bounded; nothing asserts on timing.
import type { Etcd3, IKeyValue, ILeaseKeepAliveResponse, Lease } from "etcd3"
import { etcd3Client } from "./Etcd3Client.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startVerikv, type VerikvProcess } from "../../support/VerikvProcess.ts"

const eventWaitMs = 20_000

/** Resolves with the first `count` values `subscribe` hands over, or rejects after a bound. */
function collect<T>(count: number, subscribe: (push: (value: T) => void) => void): Promise<Array<T>> {
  return new Promise((resolve, reject) => {
    const values: Array<T> = []
    const timer = setTimeout(() => reject(new Error(`only ${values.length} of ${count} events within ${eventWaitMs} ms`)), eventWaitMs)
    subscribe((value) => {
      values.push(value)
      if (values.length === count) {
        clearTimeout(timer)
        resolve(values)
      }
    })
  })
}

describe("the etcd3 npm client against verikv", () => {
  let verikv: VerikvProcess | undefined
  let client: Etcd3 | undefined

  const etcd = (): Etcd3 => {
    if (client === undefined) throw new Error("beforeAll did not connect")
    return client
  }

  beforeAll(async () => {
    verikv = await startVerikv()
    client = etcd3Client(verikv.clientEndpoint)
  })

  afterAll(async () => {
    client?.close()
    await verikv?.stop()
  })

  it("puts, gets, lists a prefix and deletes", async () => {
    await etcd().put("fruit/apple").value("red")
    await etcd().put("fruit/banana").value("yellow")
    await etcd().put("veg/leek").value("green")
    expect(await etcd().get("fruit/apple").string()).toBe("red")
    expect(await etcd().get("fruit/cherry").string()).toBeNull()
    expect(await etcd().getAll().prefix("fruit/").strings()).toEqual({ "fruit/apple": "red", "fruit/banana": "yellow" })
    expect(await etcd().getAll().prefix("fruit/").count()).toBe(2)

    const previous = await etcd().put("fruit/apple").value("green").getPrevious()
    expect(previous?.value.toString()).toBe("red")
    const deleted = await etcd().delete().prefix("fruit/").getPrevious()
    expect(deleted.map((kv) => kv.key.toString()).sort()).toEqual(["fruit/apple", "fruit/banana"])
    expect(await etcd().getAll().prefix("fruit/").keys()).toEqual([])
    expect(await etcd().get("veg/leek").string()).toBe("green")
  })

  it("runs a compare-and-swap transaction", async () => {
    await etcd().put("cas").value("1")
    const swapped = await etcd().if("cas", "Value", "==", "1").then(etcd().put("cas").value("2")).commit()
    const refused = await etcd().if("cas", "Value", "==", "1").then(etcd().put("cas").value("3")).commit()
    expect([swapped.succeeded, refused.succeeded]).toEqual([true, false])
    expect(await etcd().get("cas").string()).toBe("2")
  })

  it("delivers puts and deletes to a prefix watch, in order, with previous values", async () => {
    const watcher = await etcd().watch().prefix("w/").withPreviousKV().create()
    try {
      const events = collect<{ type: string; kv: IKeyValue; previous: IKeyValue | undefined }>(3, (push) => {
        watcher.on("put", (kv, previous) => push({ type: "put", kv, previous }))
        watcher.on("delete", (kv, previous) => push({ type: "delete", kv, previous }))
      })
      await etcd().put("w/a").value("1")
      await etcd().put("w/a").value("2")
      await etcd().delete().key("w/a")
      const seen = (await events).map(({ type, kv, previous }) => [type, kv.key.toString(), kv.value.toString(), previous?.value.toString()])
      expect(seen).toEqual([
        ["put", "w/a", "1", undefined],
        ["put", "w/a", "2", "1"],
        ["delete", "w/a", "", "2"],
      ])
    } finally {
      await watcher.cancel()
    }
  })

  it("keeps a lease alive, shows its key, and drops the key on revoke", async () => {
    const lease: Lease = etcd().lease(10)
    try {
      const leaseId = await lease.grant()
      await lease.put("leased/key").value("v")
      // The client renews on its own (every third of the TTL); wait for one renewal to succeed.
      const renewed = await collect<ILeaseKeepAliveResponse>(1, (push) => lease.on("keepaliveSucceeded", push))
      expect(renewed[0]?.TTL).toBe("10")
      const once = await lease.keepaliveOnce()
      expect(once.ID).toBe(leaseId)

      const live = await etcd().leaseClient.leaseTimeToLive({ ID: leaseId, keys: true })
      expect(live.grantedTTL).toBe("10")
      expect(live.keys.map((key) => key.toString())).toEqual(["leased/key"])
      const listed = await etcd().leaseClient.leaseLeases()
      expect(listed.leases.map((l) => l.ID)).toContain(leaseId)

      const attached = await etcd().get("leased/key").exec()
      expect(attached.kvs[0]?.lease).toBe(leaseId)
      await lease.revoke()
      expect(await etcd().get("leased/key").string()).toBeNull()
      const gone = await etcd().leaseClient.leaseTimeToLive({ ID: leaseId, keys: false })
      expect(gone.TTL).toBe("-1")
    } finally {
      lease.release()
    }
  })

  it("expires a lease nobody keeps alive: its key is deleted and watchers see the delete", async () => {
    const watcher = await etcd().watch().key("expiring/key").create()
    const lease: Lease = etcd().lease(2, { autoKeepAlive: false })
    try {
      const deletes = collect<IKeyValue>(1, (push) => watcher.on("delete", push))
      const leaseId = await lease.grant()
      await lease.put("expiring/key").value("v")
      const [deleted] = await deletes
      expect(deleted?.key.toString()).toBe("expiring/key")
      expect(await etcd().get("expiring/key").string()).toBeNull()
      const gone = await etcd().leaseClient.leaseTimeToLive({ ID: leaseId, keys: false })
      expect(gone.TTL).toBe("-1")
    } finally {
      lease.release()
      await watcher.cancel()
    }
  })
})
