// What a member must show after faults: every acknowledged put of the load with its value (key by
// key), no key the load did not send, and the same HashKV as every other member at one revision.
import { connectEtcd, type CallOutcome, type WireMessage } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import { etcdctl } from "../../support/Etcdctl.ts"
import type { ClusterMember } from "../../support/VerikvCluster.ts"
import { loadPrefix, type Ledger } from "./ClusterLoad.ts"

export type ReadMode = "linearizable" | "serializable"

export interface MemberReport {
  readonly member: string
  readonly mode: ReadMode
  readonly revision: number
  readonly presentKeys: number
  /** Acknowledged puts the member does not show. */
  readonly missing: ReadonlyArray<string>
  /** Keys with a value other than the one put. */
  readonly wrongValue: ReadonlyArray<string>
  /** Keys under the load's prefix that no put sent. */
  readonly unexpected: ReadonlyArray<string>
  /** Failed puts that were applied all the same (allowed: the answer was lost, not the write). */
  readonly unackedPresent: number
}

/** One call to a member on a connection of its own. */
export async function callMember(member: ClusterMember, service: "KV" | "Maintenance", method: string, request: object): Promise<CallOutcome> {
  const client = connectEtcd(member.clientEndpoint)
  try {
    return await client.call(service, method, request)
  } finally {
    client.close()
  }
}

const prefixRange = {
  key: Buffer.from(loadPrefix),
  rangeEnd: Buffer.from(loadPrefix.slice(0, -1) + String.fromCharCode(loadPrefix.charCodeAt(loadPrefix.length - 1) + 1)),
}

/** Reads the load's keys on `member` and holds them to the ledger. */
export async function checkMember(member: ClusterMember, ledger: Ledger, mode: ReadMode): Promise<MemberReport> {
  const outcome = await callMember(member, "KV", "Range", { ...prefixRange, serializable: mode === "serializable" })
  if (!outcome.ok) throw new Error(`${mode} Range on ${member.name} failed: ${outcome.code} ${outcome.message}`)
  const present = new Map<string, string>()
  for (const kv of outcome.response.kvs as ReadonlyArray<WireMessage>) {
    present.set((kv.key as Buffer).toString(), (kv.value as Buffer).toString())
  }
  const missing: string[] = []
  const wrongValue: string[] = []
  const unexpected: string[] = []
  let unackedPresent = 0
  for (const key of ledger.acked.keys()) if (!present.has(key)) missing.push(key)
  for (const [key, value] of present) {
    const sent = ledger.sent.get(key)
    if (sent === undefined) unexpected.push(key)
    else if (sent !== value) wrongValue.push(key)
    else if (!ledger.acked.has(key)) unackedPresent++
  }
  const revision = Number((outcome.response.header as WireMessage).revision)
  return { member: member.name, mode, revision, presentKeys: present.size, missing, wrongValue, unexpected, unackedPresent }
}

/** The revision `member` has applied (a serializable read answers from its own state). */
export async function appliedRevision(member: ClusterMember): Promise<number | undefined> {
  const outcome = await callMember(member, "KV", "Range", { key: Buffer.from(loadPrefix), serializable: true, limit: 1 })
  return outcome.ok ? Number((outcome.response.header as WireMessage).revision) : undefined
}

/** Polls until `member` has applied `revision`; throws after `timeoutMs`. */
export async function waitForRevision(member: ClusterMember, revision: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const applied = await appliedRevision(member)
    if (applied !== undefined && applied >= revision) return
    if (performance.now() > deadline) {
      throw new Error(`${member.name} applied revision ${applied} and not ${revision} within ${timeoutMs} ms`)
    }
    await delay(100)
  }
}

/** The current revision, linearizably, through `member`. */
export async function currentRevision(member: ClusterMember): Promise<number> {
  const outcome = await callMember(member, "KV", "Range", { key: Buffer.from(loadPrefix), limit: 1 })
  if (!outcome.ok) throw new Error(`Range on ${member.name} failed: ${outcome.message}`)
  return Number((outcome.response.header as WireMessage).revision)
}

export interface HashReport {
  readonly member: string
  readonly hash: number
  readonly compactRevision: number
}

/**
 * Waits until every member has applied the current revision (read through the first), then asks
 * each for HashKV at that revision. Equal hashes mean equal key-value histories up to it.
 */
export async function hashesAtOneRevision(members: ReadonlyArray<ClusterMember>, timeoutMs: number): Promise<{ readonly revision: number; readonly hashes: ReadonlyArray<HashReport> }> {
  const revision = await currentRevision(members[0]!)
  const hashes: HashReport[] = []
  for (const member of members) {
    await waitForRevision(member, revision, timeoutMs)
    const outcome = await callMember(member, "Maintenance", "HashKV", { revision })
    if (!outcome.ok) throw new Error(`HashKV on ${member.name} failed: ${outcome.message}`)
    hashes.push({
      member: member.name,
      hash: Number(outcome.response.hash),
      compactRevision: Number(outcome.response.compactRevision),
    })
  }
  return { revision, hashes }
}

/**
 * The same hashes as etcdctl sees them: `etcdctl endpoint hashkv --rev` over every member in one
 * run (host:port endpoints), endpoint -> hash. A second client's view of the convergence check.
 */
export async function hashesByEtcdctl(members: ReadonlyArray<ClusterMember>, revision: number): Promise<Map<string, number>> {
  const endpoints = members.map((m) => m.clientEndpoint).join(",")
  const result = await etcdctl(endpoints, ["endpoint", "hashkv", `--rev=${revision}`, "-w", "json"])
  if (result.code !== 0) throw new Error(`etcdctl endpoint hashkv failed (${result.code}): ${result.stderr}`)
  const rows = JSON.parse(result.stdout) as ReadonlyArray<{ Endpoint: string; HashKV: { hash: number } }>
  return new Map(rows.map((row) => [row.Endpoint, row.HashKV.hash]))
}

/** The error of a request that cannot complete (etcd's ErrTimeout). */
export const requestTimedOut = "etcdserver: request timed out"
