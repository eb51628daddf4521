// The etcd harness itself: a real etcd starts on loopback, answers over verikv's proto/
// definitions, and is gone (process and data directory) after stop.
import fs from "node:fs"
import { describe, expect, it } from "vitest"
import { connectEtcd } from "../support/EtcdClient.ts"
import { etcdAvailability, etcdSuiteSkipped, startEtcd } from "../support/EtcdProcess.ts"

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
})
