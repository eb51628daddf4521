// The nemesis of a fault run: from a seeded Random it draws one fault after another until its time
// is up, each injected, held for a while, then undone before the next (so at most a minority is
// down at once): kill -9 and restart of one or two members, SIGSTOP/SIGCONT of one (often the
// leader), a partition (the leader alone, or two members against the rest, by blackhole, dropped
// or reset connections), a leader transfer (MoveLeader), and a membership change (a member
// removed and a fresh one added, or a learner added, promoted, and another member removed).
// What it did is logged and counted by kind; healAll() undoes whatever a stop left behind. With
// `overlap`, a second loop of kills and pauses runs alongside, so faults overlap.
import type { CallOutcome } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import type { LinkFault } from "../../support/LoopbackProxy.ts"
import { Random } from "../Random.ts"
import type { FaultCluster, FaultMember } from "./FaultCluster.ts"
import { clock } from "./RegisterLoad.ts"

export type FaultKind = "kill" | "pause" | "partition" | "transfer" | "membership"

export type FaultWeights = Readonly<Record<FaultKind, number>>

/** The mixes the test files use; each file leans on some faults so a CI run covers every kind. */
export const faultMixes = {
  mixed: { kill: 3, pause: 3, partition: 3, transfer: 2, membership: 1 },
  process: { kill: 4, pause: 4, partition: 0, transfer: 1, membership: 0 },
  network: { kill: 0, pause: 1, partition: 6, transfer: 1, membership: 0 },
  membership: { kill: 1, pause: 0, partition: 1, transfer: 2, membership: 4 },
} as const satisfies Record<string, FaultWeights>

export type FaultMix = keyof typeof faultMixes

/** What the overlapping loop injects: nothing that changes the membership or the links. */
const overlappingFaults: FaultWeights = { kill: 1, pause: 1, partition: 0, transfer: 0, membership: 0 }

export const mixedFaults: FaultWeights = faultMixes.mixed

export interface NemesisOptions {
  readonly random: Random
  readonly weights: FaultWeights
  readonly durationMs: number
  /**
   * A second loop of process faults (kill, pause) alongside the first, so faults overlap: up to
   * four members may be down at once, and a member may be killed while the links are cut.
   */
  readonly overlap?: boolean
}

export interface NemesisLog {
  /** Faults injected, by detailed kind ("kill", "pause-leader", "partition-split", ...). */
  readonly counts: Map<string, number>
  /** One line per fault, with its time since the nemesis started. */
  readonly lines: string[]
}

const holdMsRange = [300, 1200] as const
const gapMsRange = [100, 400] as const
const leaderLookupMs = 5_000
const promoteBoundMs = 15_000

export async function runNemesis(fc: FaultCluster, options: NemesisOptions): Promise<NemesisLog> {
  const log: NemesisLog = { counts: new Map(), lines: [] }
  const startMs = clock()
  const note = (kind: string, line: string) => {
    log.counts.set(kind, (log.counts.get(kind) ?? 0) + 1)
    log.lines.push(`+${((clock() - startMs) / 1000).toFixed(2)}s ${line}`)
  }
  const claims: Claims = new Set()
  const loop = async (random: Random, weights: FaultWeights, label: string) => {
    const enabled = Object.fromEntries(Object.entries(weights).filter(([, w]) => w > 0)) as Record<FaultKind, number>
    while (clock() - startMs < options.durationMs) {
      await delay(random.between(...gapMsRange))
      const kind = random.weighted(enabled)
      try {
        await inject(fc, kind, random, (k, line) => note(k, `${label}${line}`), claims)
      } catch (error) {
        note(`${kind}-failed`, `${label}${kind} failed: ${error instanceof Error ? error.message : String(error)}`)
        await healAll(fc)
      }
    }
  }
  // The overlapping loop draws from its own Random, seeded from the run's, so both replay.
  const second = options.overlap === true ? loop(new Random(options.random.below(2 ** 31)), overlappingFaults, "[overlap] ") : undefined
  await Promise.all([loop(options.random, options.weights, ""), second])
  return log
}

type Note = (kind: string, line: string) => void

/** Members a fault in progress holds (killed or paused): an overlapping fault leaves them alone. */
type Claims = Set<FaultMember>

async function inject(fc: FaultCluster, kind: FaultKind, random: Random, note: Note, claims: Claims): Promise<void> {
  const hold = () => delay(random.between(...holdMsRange))
  const live = () => fc.current().filter((m) => m.member.running() && !m.paused && !claims.has(m))
  const leader = await fc.leader(leaderLookupMs).catch(() => undefined)
  const names = (ms: ReadonlyArray<FaultMember>) => ms.map((m) => m.member.name).join(",")
  const holding = async (held: ReadonlyArray<FaultMember>, fault: () => Promise<void>) => {
    for (const m of held) claims.add(m)
    try {
      await fault()
    } finally {
      for (const m of held) claims.delete(m)
    }
  }
  switch (kind) {
    case "kill": {
      const victims = pickSome(random, live(), random.chance(0.3) ? 2 : 1, random.chance(0.5) ? leader : undefined)
      if (victims.length === 0) return note("kill-skipped", "kill skipped: no live member free")
      return holding(victims, async () => {
        await Promise.all(victims.map((m) => m.member.kill()))
        note("kill", `kill -9 ${names(victims)}${victims.includes(leader!) ? " (leader)" : ""}`)
        await hold()
        // A member removed meanwhile stays down; one healed meanwhile runs already.
        await Promise.all(victims.filter((m) => !m.removed && !m.member.running()).map((m) => m.member.restart()))
      })
    }
    case "pause": {
      const free = live()
      if (free.length === 0) return note("pause-skipped", "pause skipped: no live member free")
      const target = random.chance(0.5) && leader !== undefined && free.includes(leader) ? leader : random.pick(free)
      return holding([target], async () => {
        fc.pause(target.member.name)
        note(target === leader ? "pause-leader" : "pause", `SIGSTOP ${target.member.name}${target === leader ? " (leader)" : ""}`)
        await hold()
        if (!target.removed) fc.resume(target.member.name)
      })
    }
    case "partition": {
      const fault = random.pick<LinkFault>(["blackhole", "drop", "refuse"])
      const side = random.chance(0.5) && leader !== undefined ? [leader] : pickSome(random, fc.current(), 2, undefined)
      fc.partition(side.map((m) => m.member.name), fault)
      note(side.length === 1 ? "partition-leader" : "partition-split", `partition ${names(side)} | rest by ${fault}`)
      await hold()
      fc.heal()
      return
    }
    case "transfer": {
      if (leader === undefined) return note("transfer-skipped", "transfer skipped: no leader")
      const target = random.pick(fc.current().filter((m) => m !== leader && m.member.running() && !m.paused))
      const outcome = await fc.moveLeader(leader, target)
      note("transfer", `MoveLeader ${leader.member.name} -> ${target.member.name}: ${outcome.ok ? "ok" : outcome.message}`)
      return
    }
    case "membership":
      if (leader === undefined) return note("membership-skipped", "membership change skipped: no leader")
      return random.chance(0.5) ? replaceMember(fc, leader, random, note) : addLearnerAndPromote(fc, leader, random, note)
  }
}

/** Removes a random member (maybe the leader), then adds and starts a fresh voter. */
async function replaceMember(fc: FaultCluster, leader: FaultMember, random: Random, note: Note): Promise<void> {
  const target = random.pick(fc.current())
  const via = fc.current().find((m) => m !== target && m.member.running() && !m.paused) ?? leader
  const removed = await fc.removeMember(via, target)
  noteRemoval(note, target, target === leader, via, removed)
  if (!target.removed) return
  const next = await fc.leader(leaderLookupMs)
  const fresh = await fc.addMember(next, false)
  note("member-add", `added ${fresh.member.name}`)
}

/** Adds a learner, promotes it once it is in sync (bounded retries), then removes another member. */
async function addLearnerAndPromote(fc: FaultCluster, leader: FaultMember, random: Random, note: Note): Promise<void> {
  const learner = await fc.addMember(leader, true)
  note("learner-add", `added learner ${learner.member.name}`)
  const deadline = clock() + promoteBoundMs
  let promoted = await fc.promote(leader, learner)
  while (!promoted.ok && clock() < deadline) {
    await delay(300)
    promoted = await fc.promote(await fc.leader(leaderLookupMs), learner)
  }
  if (!promoted.ok) return note("learner-promote-failed", `promote ${learner.member.name}: ${promoted.message}`)
  note("learner-promote", `promoted ${learner.member.name}`)
  const leaderNow = await fc.leader(leaderLookupMs).catch(() => undefined)
  const target = random.pick(fc.current().filter((m) => m !== learner))
  const via = fc.current().find((m) => m !== target && m.member.running() && !m.paused) ?? learner
  const removed = await fc.removeMember(via, target)
  noteRemoval(note, target, target === leaderNow, via, removed)
}

/** A removal whose answer was lost but which happened (the member list says so) is noted as such. */
function noteRemoval(note: Note, target: FaultMember, wasLeader: boolean, via: FaultMember, answer: CallOutcome): void {
  const what = `remove ${target.member.name}${wasLeader ? " (leader)" : ""} through ${via.member.name}`
  if (answer.ok) return note("member-remove", `${what}: ok`)
  if (target.removed) return note("member-remove-answer-lost", `${what}: removed, but the answer was ${answer.message}`)
  note("member-remove-failed", `${what}: ${answer.message}`)
}

/** `count` distinct members of `from`, `first` among them when given. */
function pickSome(random: Random, from: ReadonlyArray<FaultMember>, count: number, first: FaultMember | undefined): FaultMember[] {
  const rest = from.filter((m) => m !== first)
  const picked = first !== undefined && from.includes(first) ? [first] : []
  while (picked.length < count && rest.length > 0) picked.push(rest.splice(random.below(rest.length), 1)[0]!)
  return picked
}

/** Undoes every fault: links healed, paused members resumed, killed (not removed) members restarted. */
export async function healAll(fc: FaultCluster): Promise<void> {
  fc.heal()
  for (const m of fc.current()) if (m.paused) fc.resume(m.member.name)
  await Promise.all(fc.current().filter((m) => !m.member.running()).map((m) => m.member.restart()))
}
