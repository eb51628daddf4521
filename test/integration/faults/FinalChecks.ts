// What a fault run does once everything is healed: a linearizable read of every key (added to the
// history, so the last word of each key is checked too), the truth (every event of the store, from
// a fresh watch from revision 1), the acknowledged writes held against it, and convergence (every
// member's HashKV at one revision).
import type { Operation } from "../../../src/check/history.ts"
import { describeWatchEvent, watchCovers, type WatchEvent } from "../../../src/check/watch.ts"
import { connectEtcd, type WireMessage } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import type { ClusterMember } from "../../support/VerikvCluster.ts"
import { startWatchRecorder } from "../../support/WatchRecorder.ts"
import { hashesAtOneRevision } from "../cluster/ClusterChecks.ts"
import { callMember } from "./FaultCluster.ts"
import { callFor, clock } from "./RegisterLoad.ts"
import type { Watcher } from "./Watchers.ts"

const finalBoundMs = 30_000
const watchersCatchUpMs = 10_000

/** A linearizable get of each key through `member`, one client per key (retried until it answers, bounded). */
export async function finalReads(member: ClusterMember, keys: ReadonlyArray<string>, clientIdBase: number): Promise<Operation[]> {
  const client = connectEtcd(member.clientEndpoint, { callDeadlineMs: 5_000 })
  const reads: Operation[] = []
  try {
    for (const [k, key] of keys.entries()) {
      const deadline = clock() + finalBoundMs
      for (;;) {
        const command = { type: "get", key } as const
        const invokeTime = clock()
        const outcome = await callFor(client, command)
        if (outcome.ok) {
          const kvs = outcome.response.kvs as ReadonlyArray<WireMessage>
          const read = kvs.length === 0 ? null : (kvs[0]!.value as Buffer).toString()
          reads.push({ clientId: clientIdBase + k, command, invokeTime, completion: { returnTime: clock(), outcome: { type: "get", read } } })
          break
        }
        if (clock() > deadline) throw new Error(`final read of ${key} through ${member.name}: ${outcome.message}`)
        await delay(100)
      }
    }
    return reads
  } finally {
    client.close()
  }
}

/** Every event the store has, read by a watch of all keys from revision 1 through `member`. */
export async function readTruth(member: ClusterMember): Promise<WatchEvent[]> {
  const revisionAnswer = await callMember(member, "KV", "Range", { key: Buffer.from("\0"), limit: 1 })
  if (!revisionAnswer.ok) throw new Error(`Range on ${member.name}: ${revisionAnswer.message}`)
  const revision = Number((revisionAnswer.response.header as WireMessage).revision)
  const recorder = startWatchRecorder({ key: "\0", rangeEnd: "\0", startRevision: 1 }, () => [member.clientEndpoint])
  try {
    // Every revision after 1 was made by a write, so the watch ends with an event at `revision`.
    const deadline = clock() + finalBoundMs
    while (recorder.lastRevision() < revision) {
      if (clock() > deadline) throw new Error(`the truth watch on ${member.name} reached revision ${recorder.lastRevision()}, not ${revision}`)
      await delay(50)
    }
  } finally {
    await recorder.stop()
  }
  return [...recorder.events]
}

/** Waits (bounded, not asserted) until each watcher has the last event of its range; says how many did. */
export async function waitForWatchers(watchers: ReadonlyArray<Watcher>, truth: ReadonlyArray<WatchEvent>): Promise<string> {
  const targetOf = (w: Watcher) => truth.findLast((e) => watchCovers(w.recorder.spec, e.key))?.revision ?? 0
  const caughtUp = () => watchers.filter((w) => w.recorder.lastRevision() >= targetOf(w))
  const deadline = clock() + watchersCatchUpMs
  while (caughtUp().length < watchers.length && clock() < deadline) await delay(50)
  const lagging = watchers.filter((w) => !caughtUp().includes(w)).map((w) => `${w.name} at ${w.recorder.lastRevision()} of ${targetOf(w)}`)
  return `${caughtUp().length}/${watchers.length} caught up${lagging.length > 0 ? ` (lagging: ${lagging.join("; ")})` : ""}`
}

/** Acknowledged puts and successful CASes whose value never appears in the store's events. */
export function lostWrites(history: ReadonlyArray<Operation>, truth: ReadonlyArray<WatchEvent>): string[] {
  const written = new Set(truth.filter((e) => e.type === "PUT").map((e) => `${e.key}=${e.value}`))
  const lost: string[] = []
  for (const { command, completion } of history) {
    if (completion === undefined || (command.type !== "put" && command.type !== "cas")) continue
    if (completion.outcome.type === "cas" && !completion.outcome.succeeded) continue
    if (!written.has(`${command.key}=${command.value}`)) lost.push(`${command.key}=${command.value}`)
  }
  return lost
}

/** Whether the store's events ever repeat a value (values are unique, so a repeat is an anomaly). */
export function repeatedValues(truth: ReadonlyArray<WatchEvent>): string[] {
  const seen = new Set<string>()
  return truth.filter((e) => e.type === "PUT" && (seen.has(e.value) || !seen.add(e.value))).map(describeWatchEvent)
}

/** Revisions after 1 with no event: every revision is made by a write, so none may be missing. */
export function revisionHoles(truth: ReadonlyArray<WatchEvent>): number[] {
  const holes: number[] = []
  let expected = 2
  for (const event of truth) {
    for (; expected < event.revision; expected++) holes.push(expected)
    expected = Math.max(expected, event.revision + 1)
  }
  return holes
}

export interface ConvergenceReport {
  readonly agreed: boolean
  readonly summary: string
}

/** Attempts at the convergence check: a read right after healing may still time out. */
const convergenceAttemptsMax = 3

/**
 * HashKV of every member at one revision, once all have applied it. A failed attempt (e.g. a
 * linearizable read that timed out while leadership settled) is retried, and said in the summary.
 */
export async function checkConvergence(members: ReadonlyArray<ClusterMember>): Promise<ConvergenceReport> {
  const failures: string[] = []
  for (;;) {
    try {
      const { revision, hashes } = await hashesAtOneRevision(members, finalBoundMs)
      const distinct = new Set(hashes.map((h) => h.hash))
      const retried = failures.length === 0 ? "" : ` (after failed attempts: ${failures.join("; ")})`
      const summary = distinct.size === 1
        ? `${hashes.length} members agree on HashKV ${hashes[0]!.hash} at revision ${revision}${retried}`
        : `HashKV differs at revision ${revision}: ${hashes.map((h) => `${h.member} ${h.hash}`).join(", ")}${retried}`
      return { agreed: distinct.size === 1, summary }
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error))
      if (failures.length >= convergenceAttemptsMax) throw error
    }
  }
}
