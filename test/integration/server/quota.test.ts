// --quota-backend-bytes: past the quota, writes that add data get etcd's NOSPACE error and the
// alarm is raised (and listed); reads and deletes still work; after compaction, defragmentation
// and `alarm disarm`, writes are accepted again.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { etcdctl } from "../../support/Etcdctl.ts"
import { startVerikv, type VerikvProcess } from "../../support/VerikvProcess.ts"

let server: VerikvProcess
const quotaBytes = 64 * 1024

beforeAll(async () => {
  server = await startVerikv({ flags: [`--quota-backend-bytes=${quotaBytes}`] })
}, 120_000)
afterAll(async () => {
  await server?.stop()
})

const run = (args: ReadonlyArray<string>) => etcdctl(server.clientEndpoint, args)

describe("space quota", () => {
  it("raises NOSPACE past the quota, keeps serving reads and deletes, and recovers after compaction, defrag and disarm", async () => {
    const value = "v".repeat(1000)
    let refused: { readonly code: number | null; readonly stderr: string } | undefined
    let accepted = 0
    for (let i = 0; i < 200 && refused === undefined; i++) {
      const result = await run(["put", `key-${i}`, value])
      if (result.code === 0) accepted++
      else refused = result
    }
    expect(accepted).toBeGreaterThan(10)
    expect(refused?.stderr).toContain("etcdserver: mvcc: database space exceeded")
    expect((await run(["alarm", "list"])).stdout).toMatch(/alarm:NOSPACE/)
    // Reads and deletes still work under the alarm; writes that add data do not.
    expect((await run(["get", "key-0", "--print-value-only"])).stdout.trim()).toBe(value)
    expect((await run(["del", "key-", "--prefix"])).code).toBe(0)
    expect((await run(["put", "after-delete", "x"])).stderr).toContain("database space exceeded")
    // etcd's way out: compact, defragment, disarm.
    const status = await run(["endpoint", "status", "-w", "json"])
    const revision = (JSON.parse(status.stdout) as Array<{ Status: { header: { revision: number } } }>)[0]!.Status.header.revision
    expect((await run(["compaction", String(revision)])).code).toBe(0)
    expect((await run(["defrag"])).code).toBe(0)
    expect((await run(["alarm", "disarm"])).code).toBe(0)
    expect((await run(["alarm", "list"])).stdout.trim()).toBe("")
    expect((await run(["put", "after-disarm", "x"])).stdout.trim()).toBe("OK")
  })
})
