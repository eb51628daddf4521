// The watchers of a fault run, recording from revision 1 while the nemesis works: one on the load's
// whole prefix, one on a single key, one on every key, each through a different member (drawn from
// the run's Random, so some go through members that get faults) and resumed on the other members
// when its stream breaks, as a client library would.
import { startWatchRecorder, type WatchRecorder } from "../../support/WatchRecorder.ts"
import type { Random } from "../Random.ts"
import type { FaultCluster, FaultMember } from "./FaultCluster.ts"

export interface Watcher {
  readonly name: string
  readonly recorder: WatchRecorder
}

export function startWatchers(fc: FaultCluster, keys: ReadonlyArray<string>, random: Random): Watcher[] {
  const members = [...fc.current()]
  const primaries = [0, 1, 2].map(() => members.splice(random.below(members.length), 1)[0]!)
  const prefix = keys[0]!.slice(0, keys[0]!.indexOf("/") + 1)
  const prefixEnd = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
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
