// The verikv process harness itself: ready when it says so, serving on the port it was given,
// gone (process and directory) after stop, and a start that fails says why.
import fs from "node:fs"
import { describe, expect, it } from "vitest"
import { connectEtcd } from "../../support/EtcdClient.ts"
import { startVerikv } from "../../support/VerikvProcess.ts"

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("the verikv process harness", () => {
  it("starts verikv on loopback, serves through it, and stops it by pid", async () => {
    const verikv = await startVerikv({ name: "harness" })
    const client = connectEtcd(verikv.clientEndpoint)
    try {
      expect(verikv.clientEndpoint).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(verikv.log()).toContain(`serving client requests on http://${verikv.clientEndpoint}`)
      const put = await client.call("KV", "Put", { key: Buffer.from("k"), value: Buffer.from("v") })
      expect(put).toMatchObject({ ok: true, response: { header: { revision: "2" } } })
      const members = await client.call("Cluster", "MemberList", {})
      expect(members).toMatchObject({ ok: true, response: { members: [{ name: "harness" }] } })
    } finally {
      client.close()
      await verikv.stop()
    }
    expect(verikv.running()).toBe(false)
    expect(isAlive(verikv.pid)).toBe(false)
    expect(fs.existsSync(verikv.dataDir)).toBe(false)
    expect(verikv.log()).toBe("(no log)")
  })

  it("reports a verikv that exits before it is ready, with its log", async () => {
    await expect(startVerikv({ flags: ["--initial-cluster-state=sideways"] })).rejects.toThrow(/exited early \(exit code [1-9]\d*\)[^]*sideways/)
  })
})
