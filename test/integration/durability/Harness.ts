// Shared steps of the durability tests: a temporary data dir, clients for a running server, a
// load that the server is killed in the middle of, and the check after a restart.
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { expect } from "vitest"
import { connectEtcd, type EtcdClient } from "../../support/EtcdClient.ts"
import { AckedWrites, checkAcked, type CheckReport } from "./AckedWrites.ts"
import type { RunningServer } from "./ServerProcess.ts"
import { startLoad, type LoadResult } from "./WriteLoad.ts"

export const writers = 48

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const channels = 4

/** A data dir on the real disk (not tmpfs: recovery reads what fdatasync made durable there). */
export async function withDataDir(body: (dataDir: string) => Promise<void>): Promise<void> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), "verikv-durability-"))
  try {
    await body(path.join(root, "data"))
  } finally {
    await fsp.rm(root, { recursive: true, force: true })
  }
}

export async function withClients<T>(server: RunningServer, body: (clients: EtcdClient[]) => Promise<T>): Promise<T> {
  const clients = Array.from({ length: channels }, () => connectEtcd(server.endpoint))
  try {
    return await body(clients)
  } finally {
    for (const client of clients) client.close()
  }
}

/**
 * Runs the load against `server` and kills it with SIGKILL mid-load: after `killAfterMs`, and not
 * before `minAcked` puts were acknowledged (a slow, shared machine still writes enough).
 */
export async function loadThenKill(
  server: RunningServer, ledger: AckedWrites, label: string, killAfterMs: number, minAcked = 1,
): Promise<LoadResult> {
  return withClients(server, async (clients) => {
    const load = startLoad(clients, ledger, writers, label)
    await delay(killAfterMs)
    while (load.acked() < minAcked) await delay(20)
    const exit = await server.kill9()
    expect(exit.signal).toBe("SIGKILL")
    const result = await load.done
    // The kill really landed mid-load: writers were cut off, and some puts had been acknowledged.
    expect(result.failed).toBeGreaterThan(0)
    expect(result.acked).toBeGreaterThan(0)
    return result
  })
}

/** Runs `count` puts to completion (no kill), 8 at a time: many small group-commit saves. */
export async function loadSome(server: RunningServer, ledger: AckedWrites, label: string, count: number): Promise<void> {
  await withClients(server, async (clients) => {
    let next = 0
    const worker = async (w: number): Promise<void> => {
      for (let k = next++; k < count; k = next++) {
        const { key, value } = ledger.next(`${label}/${k}`)
        const outcome = await clients[w % clients.length]!.call("KV", "Put", { key: Buffer.from(key), value: Buffer.from(value) })
        expect(outcome.ok).toBe(true)
        ledger.acked.add(key)
      }
    }
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)))
  })
}

/**
 * Checks every acknowledged write key by key (`exempt`: keys whose loss the test caused on
 * purpose), and that the revision counts exactly the keys present: each put of a new key is one
 * revision, so a lost or doubly applied entry shows.
 */
export async function expectAllAcked(
  server: RunningServer, ledger: AckedWrites, exempt: ReadonlySet<string> = new Set(),
): Promise<CheckReport> {
  const report = await withClients(server, ([client]) => checkAcked(client!, ledger, exempt))
  expect(report.missing.slice(0, 10), `${report.missing.length} acknowledged keys missing`).toEqual([])
  expect(report.wrongValue.slice(0, 10)).toEqual([])
  expect(report.unexpected.slice(0, 10)).toEqual([])
  expect(report.revision).toBe(1 + report.presentKeys)
  return report
}

export function describeRecovery(what: string, server: RunningServer, report: CheckReport, ledger: AckedWrites): string {
  return `${what}: serving after ${server.startMs.toFixed(0)} ms, recovery ${server.recoveryMs} ms (revision ` +
    `${server.recoveredRevision}, applied index ${server.recoveredAppliedIndex}); ` +
    `${ledger.acked.size} acked keys checked, ${report.unackedPresent} unacked present, ` +
    `revision ${report.revision}`
}
