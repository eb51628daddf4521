// The etcd harness itself: a real etcd starts on loopback, answers over verikv's proto/
// definitions, and is gone (process and data directory) after stop.
import fs from "node:fs"
import { describe, expect, it } from "vitest"
import { rangeRequest, utf8 } from "../../src/kv/index.ts"
import { connectEtcd } from "../support/EtcdClient.ts"
import { etcdAvailability, etcdSuiteSkipped, startEtcd } from "../support/EtcdProcess.ts"
import { kvResultOfWire, wireCallOf } from "./EtcdWire.ts"

const availability = etcdAvailability()

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe.skipIf(etcdSuiteSkipped())("the etcd harness", () => {
  it("starts etcd on loopback, talks to it through proto/, and stops it by pid", async () => {
    if (!availability.available) throw new Error(availability.reason)
    const etcd = await startEtcd()
    const client = connectEtcd(etcd.clientEndpoint)
    try {
      expect(etcd.clientEndpoint).toMatch(/^127\.0\.0\.1:\d+$/)
      const put = await client.call("KV", "Put", { key: Buffer.from("k"), value: Buffer.from("v"), prevKv: true })
      expect(put).toMatchObject({ ok: true, response: { header: { revision: "2" }, prevKv: null } })
      const range = await client.call("KV", "Range", { key: Buffer.from("k") })
      expect(range).toMatchObject({
        ok: true,
        response: { count: "1", kvs: [{ key: Buffer.from("k"), value: Buffer.from("v"), createRevision: "2", version: "1" }] },
      })
      const refused = await client.call("KV", "Range", { key: Buffer.alloc(0) })
      expect(refused).toEqual({ ok: false, code: 3, message: "etcdserver: key is not provided" })
      const status = await client.call("Maintenance", "Status", {})
      expect(status).toMatchObject({ ok: true, response: { version: expect.stringMatching(/^3\.4\./) } })
    } finally {
      client.close()
      await etcd.stop()
    }
    expect(isRunning(etcd.pid)).toBe(false)
    expect(fs.existsSync(etcd.dataDir)).toBe(false)
  })

  // etcd 3.4 (gogoproto) tells an absent range_end from a present empty one, and reads the latter
  // as "every key from `key` on". Go clients never send it; EtcdWire must not either, or every
  // single-key read in the differential suite would turn into an open-ended range.
  it("reads a present empty range_end as open-ended, so EtcdWire leaves empty bytes out", async () => {
    if (!availability.available) throw new Error(availability.reason)
    const etcd = await startEtcd()
    const client = connectEtcd(etcd.clientEndpoint)
    try {
      await client.call("KV", "Put", { key: Buffer.from("p/b"), value: Buffer.from("v") })
      const presentEmpty = await client.call("KV", "Range", { key: Buffer.from("p/a"), rangeEnd: Buffer.alloc(0) })
      expect(presentEmpty).toMatchObject({ ok: true, response: { count: "1" } })
      const command = { type: "Range", request: rangeRequest({ key: utf8("p/a") }) } as const
      const call = wireCallOf(command)
      expect(call.request).toMatchObject({ rangeEnd: undefined })
      const single = kvResultOfWire(command, await client.call(call.service, call.method, call.request))
      expect(single).toMatchObject({ type: "Range", response: { count: 0, kvs: [] } })
    } finally {
      client.close()
      await etcd.stop()
    }
  })
})
