// The watchers of a fault run, recording from revision 1 while the nemesis works: one on the load's
// whole prefix, one on a single key, one on every key, each through a different member (drawn from
// the run's Random, so some go through members that get faults) and resumed on the other members
// when its stream breaks, as a client library would. A late watcher joins mid-run from a revision
// some way back, so it replays stored history before it follows live events (where a watch
// implementation hands over from one to the other, events tend to be lost or repeated).
import type { WireMessage } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import { startWatchRecorder, type WatchRecorder } from "../../support/WatchRecorder.ts"
import type { Random } from "../Random.ts"
import { callMember, type FaultCluster, type FaultMember } from "./FaultCluster.ts"

export interface Watcher {
  readonly name: string
  readonly recorder: WatchRecorder
}

export function startWatchers(fc: FaultCluster, keys: ReadonlyArray<string>, random: Random): Watcher[] {
  const members = [...fc.current()]
  const primaries = [0, 1, 2].map(() => members.splice(random.below(members.length), 1)[0]!)
  const { prefix, prefixEnd } = prefixOf(keys)
  const specs = [
    { what: `prefix ${prefix}`, spec: { key: prefix, rangeEnd: prefixEnd, startRevision: 1 } },
    { what: `key ${keys[keys.length - 1]}`, spec: { key: keys[keys.length - 1]!, startRevision: 1 } },
    { what: "every key", spec: { key: "\0", rangeEnd: "\0", startRevision: 1 } },
  ]
  return specs.map(({ what, spec }, k) => {
    const primary = primaries[k]!
    return { name: `${what} via ${primary.member.name}`, recorder: startWatchRecorder(spec, () => endpointsFrom(fc, primary)) }
  })
}

/** The primary first (unless removed), then the other current members that run. */
function endpointsFrom(fc: FaultCluster, primary: FaultMember): string[] {
  const others = fc.current().filter((m) => m !== primary && m.member.running())
  return [...(primary.removed ? [] : [primary]), ...others].map((m) => m.member.clientEndpoint)
}

/** The load's key prefix ("f/") and the end of its range ("f0"). */
function prefixOf(keys: ReadonlyArray<string>): { readonly prefix: string; readonly prefixEnd: string } {
  const prefix = keys[0]!.slice(0, keys[0]!.indexOf("/") + 1)
  return { prefix, prefixEnd: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) }
}

/** How far back from the revision it learns the late watcher starts. */
const lateStartRevisionsBack = 100

/**
 * After `afterMs`, a prefix watcher through `primary` from `lateStartRevisionsBack` revisions
 * before the revision some live member reports; undefined if no member answers.
 */
export async function startLateWatcher(
  fc: FaultCluster, keys: ReadonlyArray<string>, primary: FaultMember, afterMs: number,
): Promise<Watcher | undefined> {
  await delay(afterMs)
  const { prefix, prefixEnd } = prefixOf(keys)
  for (const m of fc.current().filter((c) => c.member.running() && !c.paused)) {
    const answer = await callMember(m.member, "KV", "Range", { key: Buffer.from(prefix), limit: 1, serializable: true }, 2_000)
    if (!answer.ok) continue
    const revision = Number((answer.response.header as WireMessage).revision)
    const startRevision = Math.max(1, revision - lateStartRevisionsBack)
    const spec = { key: prefix, rangeEnd: prefixEnd, startRevision }
    const name = `late prefix ${prefix} from revision ${startRevision} via ${primary.member.name}`
    return { name, recorder: startWatchRecorder(spec, () => endpointsFrom(fc, primary)) }
  }
  return undefined
}
