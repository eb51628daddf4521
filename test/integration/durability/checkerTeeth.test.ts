// The acknowledged-writes check must catch lost writes. Planted loss: after a kill -9, the last
// saves of the WAL are zeroed, as a disk that acknowledged fdatasync without keeping the data
// would leave them. Recovery cannot see this (the log just ends earlier, at a save boundary), so
// the server starts without a warning, and only the key-by-key check can tell.
import * as fsp from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { AckedWrites, checkAcked } from "./AckedWrites.ts"
import { loadSome, withClients, withDataDir } from "./Harness.ts"
import { startServing } from "./ServerProcess.ts"
import { putKeys, readLastSegment, savesOf } from "./WalFiles.ts"

describe("the acknowledged-writes check", () => {
  it("reports acknowledged keys whose WAL saves were lost", async () => {
    await withDataDir(async (dataDir) => {
      const ledger = new AckedWrites()
      const first = await startServing(dataDir)
      await loadSome(first, ledger, "load", 1000)
      await first.kill9()
      const segment = await readLastSegment(dataDir)
      const lostSaves = savesOf(segment).slice(-20)
      const lostKeys = lostSaves.flatMap((save) => putKeys(segment, save))
      expect(lostKeys.length).toBeGreaterThan(0)
      const from = lostSaves[0]![0]!.offset
      const to = lostSaves.at(-1)!.at(-1)!.next
      const handle = await fsp.open(segment.filePath, "r+")
      await handle.write(Buffer.alloc(to - from), 0, to - from, from)
      await handle.close()

      const recovered = await startServing(dataDir)
      expect(recovered.log()).not.toContain(" W | ")
      const report = await withClients(recovered, ([client]) => checkAcked(client!, ledger))
      // Every put of a lost save was acknowledged (loadSome waits for each), so all are missing.
      expect([...report.missing].sort()).toEqual([...lostKeys].sort())
      expect(report.revision).toBe(1 + report.presentKeys)
      await recovered.kill9()
    })
  })

  it("reports a value that differs from the acknowledged one, and keys nobody sent", async () => {
    await withDataDir(async (dataDir) => {
      const ledger = new AckedWrites()
      const server = await startServing(dataDir)
      await loadSome(server, ledger, "load", 20)
      await withClients(server, async ([client]) => {
        // Planted: one key overwritten behind the ledger's back, one key the ledger never sent.
        expect((await client!.call("KV", "Put", { key: Buffer.from("load/load/3"), value: Buffer.from("other") })).ok).toBe(true)
        expect((await client!.call("KV", "Put", { key: Buffer.from("load/ghost"), value: Buffer.from("boo") })).ok).toBe(true)
        const report = await checkAcked(client!, ledger)
        expect(report.wrongValue).toEqual(["load/load/3"])
        expect(report.unexpected).toEqual(["load/ghost"])
        expect(report.missing).toEqual([])
        // An overwrite is one revision more than there are keys: the revision check would see it.
        expect(report.revision).toBe(2 + report.presentKeys)
      })
      await server.kill9()
    })
  })
})
