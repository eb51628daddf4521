// A verikv cluster for fault runs: every member's peer listener sits behind a LoopbackProxy (the
// topology of ../cluster/ProxiedCluster.ts), and so does every member added later, so partitions
// cover the whole current membership. On top of the process controls of VerikvCluster it offers
// what the nemesis needs: SIGSTOP/SIGCONT, partitions by member name, member IDs, membership
// changes through the Cluster API and MoveLeader. stop() resumes paused processes and stops every
// process by pid, then closes the proxies.
import { assert } from "../../../src/assert.ts"
import { connectEtcd, type CallOutcome, type EtcdService, type WireMessage } from "../../support/EtcdClient.ts"
import { delay, killQuietly } from "../../support/EtcdProcess.ts"
import { startLoopbackProxy, type LinkFault, type LoopbackProxy } from "../../support/LoopbackProxy.ts"
import { startVerikvCluster, type ClusterMember, type VerikvCluster } from "../../support/VerikvCluster.ts"
import { helloSender } from "../cluster/ProxiedCluster.ts"

/** Heartbeat and election timeout as the cluster tests use them. */
export const timingFlags = ["--heartbeat-interval=100", "--election-timeout=1000"]

/** Deadline of the harness's own calls: a paused member must not hold the nemesis for long. */
const harnessCallDeadlineMs = 5_000
/** Membership calls wait for a conf change to commit (a forwarded one up to verikv's 7 s). */
const membershipCallDeadlineMs = 15_000

/** One call to a member on a connection of its own, with a short deadline. */
export async function callMember(
  member: ClusterMember, service: EtcdService, method: string, request: object, deadlineMs = harnessCallDeadlineMs,
): Promise<CallOutcome> {
  const client = connectEtcd(member.clientEndpoint, { callDeadlineMs: deadlineMs })
  try {
    return await client.call(service, method, request)
  } finally {
    client.close()
  }
}

export interface FaultMember {
  readonly member: ClusterMember
  /** Decimal member ID, as response headers carry it. */
  readonly id: string
  readonly proxy: LoopbackProxy
  /** Whether it was removed from the cluster (its process is stopped, its proxy closed). */
  removed: boolean
  paused: boolean
}

export interface FaultCluster {
  readonly cluster: VerikvCluster
  /** Members not removed, in order of creation. */
  readonly current: () => ReadonlyArray<FaultMember>
  readonly byName: (name: string) => FaultMember
  /** The current member that a running, unpaused member names as leader (bounded poll). */
  readonly leader: (timeoutMs?: number) => Promise<FaultMember>
  /** Cuts every link between `side` and the other current members, both ways. */
  readonly partition: (side: ReadonlyArray<string>, fault: LinkFault) => void
  readonly heal: () => void
  readonly pause: (name: string) => void
  readonly resume: (name: string) => void
  /** member add (through `via`), then starts it; resolves once it serves clients. */
  readonly addMember: (via: FaultMember, learner: boolean) => Promise<FaultMember>
  /** member remove; the target counts as removed if the answer is ok or the member list no longer has it. */
  readonly removeMember: (via: FaultMember, target: FaultMember) => Promise<CallOutcome>
  readonly promote: (via: FaultMember, target: FaultMember) => Promise<CallOutcome>
  readonly moveLeader: (leader: FaultMember, target: FaultMember) => Promise<CallOutcome>
  readonly stop: () => Promise<void>
}

/** Attempts at bootstrapping: a port chosen for a member may be taken before it binds it. */
const bootstrapAttemptsMax = 3

export async function startFaultCluster(size: number, flags: ReadonlyArray<string> = timingFlags): Promise<FaultCluster> {
  let lastError: unknown
  for (let attempt = 1; attempt <= bootstrapAttemptsMax; attempt++) {
    try {
      return await bootstrapFaultCluster(size, flags)
    } catch (error) {
      lastError = error
      // Only a port taken between our probe and verikv's bind is worth another try.
      if (!String(error).includes("EADDRINUSE")) break
    }
  }
  throw lastError
}

/** What the harness knows of the cluster: every member it made (removed ones too) and its proxies. */
interface Harness {
  readonly cluster: VerikvCluster
  readonly members: FaultMember[]
  readonly proxies: LoopbackProxy[]
  nextMemberNumber: number
}

async function bootstrapFaultCluster(size: number, flags: ReadonlyArray<string>): Promise<FaultCluster> {
  const harness: Harness = { cluster: await startVerikvCluster({ size: 0, flags }), members: [], proxies: [], nextMemberNumber: size + 1 }
  try {
    const prepared: ClusterMember[] = []
    for (let k = 1; k <= size; k++) prepared.push(await harness.cluster.prepareMember(`n${k}`))
    const proxyOf = new Map<ClusterMember, LoopbackProxy>()
    for (const member of prepared) {
      const proxy = await proxyFor(member, reservedPorts(harness.cluster))
      harness.proxies.push(proxy)
      proxyOf.set(member, proxy)
    }
    const initialCluster = prepared.map((m) => `${m.name}=${proxyOf.get(m)!.url}`).join(",")
    await Promise.all(prepared.map((m) => m.start({ initialClusterState: "new", initialCluster })))
    for (const member of prepared) {
      harness.members.push({ member, id: await memberIdOf(member), proxy: proxyOf.get(member)!, removed: false, paused: false })
    }
  } catch (error) {
    await stopHarness(harness)
    throw error
  }
  return faultCluster(harness)
}

function faultCluster(harness: Harness): FaultCluster {
  const current = () => harness.members.filter((m) => !m.removed)
  const byName = (name: string) => {
    const found = harness.members.find((m) => m.member.name === name)
    assert(found !== undefined, `no member ${name}`)
    return found
  }
  return {
    cluster: harness.cluster,
    current,
    byName,
    leader: (timeoutMs = 20_000) => findLeader(current, timeoutMs),
    partition: (side, fault) => {
      const inside = new Set(side)
      const ids = (inSide: boolean) => new Set(current().filter((m) => inside.has(m.member.name) === inSide).map((m) => m.id))
      for (const m of current()) m.proxy.cut(fault, ids(!inside.has(m.member.name)))
    },
    heal: () => {
      for (const m of harness.members) m.proxy.heal()
    },
    pause: (name) => pauseProcess(byName(name)),
    resume: (name) => resumeProcess(byName(name)),
    addMember: (via, learner) => addMember(harness, via, learner),
    removeMember: (via, target) => removeMember(harness, via, target),
    promote: (via, target) => callMember(via.member, "Cluster", "MemberPromote", { ID: target.id }, membershipCallDeadlineMs),
    moveLeader: (leader, target) => callMember(leader.member, "Maintenance", "MoveLeader", { targetID: target.id }),
    stop: () => stopHarness(harness),
  }
}

async function stopHarness(harness: Harness): Promise<void> {
  for (const m of harness.members) if (m.paused) resumeProcess(m)
  await harness.cluster.stop()
  await Promise.all(harness.proxies.map((p) => p.close()))
}

/** member add through `via` (settled by the member list if the answer is lost), then the start. */
async function addMember(harness: Harness, via: FaultMember, learner: boolean): Promise<FaultMember> {
  const member = await harness.cluster.prepareMember(`n${harness.nextMemberNumber++}`)
  const proxy = await proxyFor(member, reservedPorts(harness.cluster))
  harness.proxies.push(proxy)
  const request = { peerURLs: [proxy.url], isLearner: learner }
  const added = await callMember(via.member, "Cluster", "MemberAdd", request, membershipCallDeadlineMs)
  // An answer lost is not a change lost: the member list says whether it happened.
  const answer = added.ok ? added : await callMember(via.member, "Cluster", "MemberList", {})
  const why = added.ok ? "not listed" : added.message
  if (!answer.ok) throw new Error(`MemberAdd through ${via.member.name}: ${why}`)
  const all = answer.response.members as ReadonlyArray<WireMessage>
  const self = all.find((m) => (m.peerURLs as string[]).includes(proxy.url))
  if (self === undefined) throw new Error(`MemberAdd through ${via.member.name}: ${why}`)
  // Names as the harness gave them: a member added but not started yet is listed without one.
  const nameOf = (m: WireMessage) => m === self ? member.name
    : harness.members.find((known) => (m.peerURLs as string[]).includes(known.proxy.url))?.member.name ?? String(m.name)
  const initialCluster = all.map((m) => `${nameOf(m)}=${(m.peerURLs as string[])[0]}`).join(",")
  const fresh: FaultMember = { member, id: String(self.ID), proxy, removed: false, paused: false }
  harness.members.push(fresh)
  await member.start({ initialClusterState: "existing", initialCluster })
  return fresh
}

/** member remove through `via`; a lost answer is settled by the member list. */
async function removeMember(harness: Harness, via: FaultMember, target: FaultMember): Promise<CallOutcome> {
  const outcome = await callMember(via.member, "Cluster", "MemberRemove", { ID: target.id }, membershipCallDeadlineMs)
  const gone = outcome.ok || (await listedPeerUrls(harness))?.has(target.proxy.url) === false
  if (gone) {
    target.removed = true
    if (target.paused) resumeProcess(target)
    await target.member.stop()
    await target.proxy.close()
  }
  return outcome
}

/** The peer URLs the cluster lists now, asked of a live member (undefined if none answers). */
async function listedPeerUrls(harness: Harness): Promise<Set<string> | undefined> {
  for (const m of harness.members.filter((c) => !c.removed && c.member.running() && !c.paused)) {
    const listed = await callMember(m.member, "Cluster", "MemberList", {})
    if (!listed.ok) continue
    return new Set((listed.response.members as ReadonlyArray<WireMessage>).flatMap((x) => x.peerURLs as string[]))
  }
  return undefined
}

/** Asks the reachable members for the leader until one names a current, running, unpaused member. */
async function findLeader(current: () => ReadonlyArray<FaultMember>, timeoutMs: number): Promise<FaultMember> {
  const deadline = performance.now() + timeoutMs
  const statusDeadlineMs = 1_000
  for (;;) {
    const live = current().filter((m) => m.member.running() && !m.paused)
    for (const m of live) {
      const status = await callMember(m.member, "Maintenance", "Status", {}, statusDeadlineMs)
      if (!status.ok) continue
      const named = live.find((candidate) => candidate.id === String(status.response.leader))
      if (named !== undefined) return named
    }
    if (performance.now() > deadline) throw new Error(`no reachable member named a live leader within ${timeoutMs} ms`)
    await delay(100)
  }
}

function pauseProcess(m: FaultMember): void {
  const pid = m.member.pid()
  if (pid === undefined || !m.member.running() || m.paused) return
  killQuietly(pid, "SIGSTOP")
  m.paused = true
}

function resumeProcess(m: FaultMember): void {
  const pid = m.member.pid()
  m.paused = false
  if (pid !== undefined) killQuietly(pid, "SIGCONT")
}

function reservedPorts(cluster: VerikvCluster): Set<number> {
  return new Set(cluster.members.flatMap((m) => [m.peerUrl, m.clientUrl].map((url) => Number(new URL(url).port))))
}

/** A proxy in front of `member`'s peer listener, on a port no member was given. */
async function proxyFor(member: ClusterMember, reserved: ReadonlySet<number>): Promise<LoopbackProxy> {
  const targetPort = Number(new URL(member.peerUrl).port)
  const rejected: LoopbackProxy[] = []
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      const proxy = await startLoopbackProxy({ targetPort, identify: helloSender })
      if (!reserved.has(proxy.port)) return proxy
      rejected.push(proxy) // held open so the kernel does not hand the port out again
    }
    throw new Error("no proxy port outside the members' ports in 10 attempts")
  } finally {
    await Promise.all(rejected.map((p) => p.close()))
  }
}

async function memberIdOf(member: ClusterMember): Promise<string> {
  const status = await callMember(member, "Maintenance", "Status", {})
  if (!status.ok) throw new Error(`Status on ${member.name}: ${status.message}`)
  const id = (status.response.header as WireMessage).memberId
  assert(typeof id === "string" && id !== "0", "Status names the member")
  return id
}
