// python3's etcd3 client (Debian python3-etcd3, run by the system python3) against verikv and
// against real etcd 3.4: python_etcd3_client.py prints what it observed (KV, txn, watch, lease,
// lock, status) and the two observations must be equal, and as etcd's documentation says.
import { execFile } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { etcdSuiteSkipped, startEtcd, type EtcdProcess } from "../../support/EtcdProcess.ts"
import { startVerikv, type VerikvProcess } from "../../support/VerikvProcess.ts"

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "python_etcd3_client.py")
// The system python3 (Debian's packages live there), not whatever python3 comes first on PATH.
const python = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"
const runBoundMs = 60_000

async function observe(endpoint: string): Promise<unknown> {
  const [host = "", port = ""] = endpoint.split(":")
  const { stdout } = await promisify(execFile)(python, [script, host, port], { timeout: runBoundMs, killSignal: "SIGKILL" })
  return JSON.parse(stdout)
}

describe.skipIf(etcdSuiteSkipped())("python3-etcd3 against verikv and etcd 3.4", () => {
  let verikv: VerikvProcess | undefined
  let etcd: EtcdProcess | undefined

  beforeAll(async () => {
    ;[verikv, etcd] = await Promise.all([startVerikv(), startEtcd()])
  })

  afterAll(async () => {
    await Promise.all([verikv?.stop(), etcd?.stop()])
  })

  it("sees the same KV, txn, watch, lease, lock and status results from both", async () => {
    if (verikv === undefined || etcd === undefined) throw new Error("beforeAll did not start both")
    const [fromVerikv, fromEtcd] = await Promise.all([observe(verikv.clientEndpoint), observe(etcd.clientEndpoint)])
    expect(fromVerikv).toEqual(fromEtcd)
    expect(fromVerikv).toEqual({
      get: { value: "1", key: "py/a", version: 1 },
      get_missing: null,
      prefix: [["py/a", "1"], ["py/b", "2"]],
      delete: true,
      delete_missing: false,
      after_delete: ["py/b"],
      txn: { swapped: true, refused: false, value: "swapped" },
      replace: [true, false],
      put_if_not_exists: [true, false],
      watch: [["PutEvent", "w/x", "1"], ["PutEvent", "w/x", "2"], ["DeleteEvent", "w/x", ""]],
      lease: { granted_ttl: 30, remaining_positive: true, keys: ["py/leased"], refresh_ttl: 30, key_lease_matches: true },
      after_revoke: { value: null, remaining: -1 },
      lock: { acquired: true, held: true, released: true },
      status: { leader: "verikv-test", db_size_positive: true },
      members: ["verikv-test"],
    })
  })
})
