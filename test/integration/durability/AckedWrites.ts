// The ledger of a write load: every put a client sent, and the value of each one the server
// acknowledged. After a crash and restart, every acknowledged key must hold exactly its value;
// a key that was sent but not acknowledged may be there (with its value) or not; nothing else
// may appear under the load's prefix.
import { randomBytes } from "node:crypto"
import type { EtcdClient, WireMessage } from "../../support/EtcdClient.ts"

export const loadPrefix = "load/"

export class AckedWrites {
  /** key -> value, for every put sent (acknowledged or not). */
  readonly sent = new Map<string, string>()
  readonly acked = new Set<string>()

  /** A fresh key and a value no other put uses. */
  next(label: string): { readonly key: string; readonly value: string } {
    const key = `${loadPrefix}${label}`
    const value = `${label}:${randomBytes(6).toString("hex")}`
    this.sent.set(key, value)
    return { key, value }
  }
}

export interface CheckReport {
  /** Acknowledged keys missing after recovery. */
  readonly missing: ReadonlyArray<string>
  /** Keys present with a value other than the one sent. */
  readonly wrongValue: ReadonlyArray<string>
  /** Keys present that no put sent. */
  readonly unexpected: ReadonlyArray<string>
  /** Keys present that were sent but not acknowledged (allowed). */
  readonly unackedPresent: number
  readonly presentKeys: number
  /** Every key under the prefix and its value. */
  readonly present: ReadonlyMap<string, string>
  /** The server's revision (header) when it answered. */
  readonly revision: number
}

/** Reads every key under the load prefix (linearizable) and checks it against the ledger. */
export async function checkAcked(
  client: EtcdClient, ledger: AckedWrites, exempt: ReadonlySet<string> = new Set(),
): Promise<CheckReport> {
  const outcome = await client.call("KV", "Range", {
    key: Buffer.from(loadPrefix), rangeEnd: Buffer.from(prefixEnd(loadPrefix)),
  })
  if (!outcome.ok) throw new Error(`Range failed: ${outcome.code} ${outcome.message}`)
  const response = outcome.response
  const present = new Map<string, string>()
  for (const kv of response.kvs as ReadonlyArray<WireMessage>) {
    present.set((kv.key as Buffer).toString(), (kv.value as Buffer).toString())
  }
  const missing: string[] = []
  const wrongValue: string[] = []
  const unexpected: string[] = []
  let unackedPresent = 0
  for (const key of ledger.acked) if (!present.has(key) && !exempt.has(key)) missing.push(key)
  for (const [key, value] of present) {
    const sent = ledger.sent.get(key)
    if (sent === undefined) unexpected.push(key)
    else if (sent !== value) wrongValue.push(key)
    else if (!ledger.acked.has(key)) unackedPresent++
  }
  const revision = Number((response.header as WireMessage).revision)
  return { missing, wrongValue, unexpected, unackedPresent, presentKeys: present.size, present, revision }
}

function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
}
