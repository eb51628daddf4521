// Runs a schedule (test/sim/Schedule.ts) on an in-memory cluster of real servers
// (test/model/Cluster.ts), checking the spec's state invariants after every step and its
// transition properties across every step. A thrown AssertionFailure (the core's own runtime
// checks, or the harness's) is a failure too. After the schedule an optional liveness tail heals
// the network and checks that a leader emerges and its configuration converges.
import type { Input, Ready } from "../../src/raft/Api.ts"
import { config as configOf, type RaftState } from "../../src/raft/Raft.ts"
import { hasUncommittedConfig, lastIndex, termAt } from "../../src/raft/RaftLog.ts"
import type { TraceEvent, TracedState } from "../../src/raft/Trace.ts"
import { configMembers, isJoint, type LogIndex, type Message, type NodeId, None } from "../../src/raft/Types.ts"
import {
  type ClusterOptions,
  type ClusterState,
  cloneCluster,
  compactLog,
  deliver,
  newCluster,
  restartServer,
  server,
  stepServer,
  value,
} from "../model/Cluster.ts"
import { checkState, checkTransition } from "../model/Invariants.ts"
import { type Run, type SimConfig, type Step, serverIds } from "./Schedule.ts"

/** What the simulator itself does to the network and servers, for traces (spec: environment actions). */
export type EnvironmentEvent =
  | { readonly action: "DropMessage"; readonly message: Message }
  | { readonly action: "DuplicateMessage"; readonly message: Message }
  | { readonly action: "Restart"; readonly server: NodeId; readonly state: TracedState }

export interface TraceSink {
  readonly core: (event: TraceEvent) => void
  readonly environment: (event: EnvironmentEvent) => void
}

export interface Simulation {
  readonly config: SimConfig
  readonly options: ClusterOptions
  readonly cluster: ClusterState
  /** Side of each server while the network is partitioned; undefined when it is whole. */
  sides: Map<NodeId, number> | undefined
  nextReadContext: number
  /** What the current step is doing, set before it can fail (e.g. the message being delivered). */
  note: string
  readonly sink: TraceSink | undefined
}

/** Where and how a run broke. `step` is the schedule position, or "liveness" for the tail. */
export interface SimFailure {
  readonly step: number | "liveness"
  readonly invariant: string
  readonly detail: string
}

/** Called after each schedule step with what it did, e.g. to print a replay. */
export type StepObserver = (index: number, step: Step, effect: string, sim: Simulation) => void

export function clusterOptions(config: SimConfig, seed: number, sink?: TraceSink): ClusterOptions {
  const ids = serverIds(config)
  return {
    ids,
    initialConfig: { voters: ids, votersOutgoing: [], learners: [] },
    preVote: config.preVote,
    checkQuorum: config.checkQuorum,
    electionTimeoutTicks: config.electionTimeoutTicks,
    heartbeatTimeoutTicks: config.heartbeatTimeoutTicks,
    appendEntriesCountMax: config.appendEntriesCountMax,
    inflightCountMax: config.inflightCountMax,
    seed,
    ...(config.bugs === undefined ? {} : { bugs: config.bugs }),
    ...(sink === undefined ? {} : { trace: sink.core }),
  }
}

export function newSimulation(config: SimConfig, seed: number, sink?: TraceSink): Simulation {
  const options = clusterOptions(config, seed, sink)
  return { config, options, cluster: newCluster(options), sides: undefined, nextReadContext: 1, note: "", sink }
}

/** Runs `run`; returns the first failure, or undefined if every check held. */
export function runSchedule(config: SimConfig, run: Run, observe?: StepObserver, sink?: TraceSink): SimFailure | undefined {
  const sim = newSimulation(config, run.seed, sink)
  for (let k = 0; k < run.schedule.length; k++) {
    const step = run.schedule[k]!
    let effect: string | undefined
    sim.note = ""
    const failure = checkedAction(sim, k, () => {
      effect = applyStep(sim, step)
    })
    observe?.(k, step, effect ?? `${sim.note} !! ${failure?.invariant}`, sim)
    if (failure !== undefined) return failure
  }
  return config.liveness ? livenessTail(sim) : undefined
}

/** Runs `action`, then checks the invariants; any exception it throws is a failure. */
export function checkedAction(sim: Simulation, step: SimFailure["step"], action: () => void): SimFailure | undefined {
  const before = cloneCluster(sim.cluster)
  try {
    action()
  } catch (error) {
    const name = error instanceof Error ? error.name : "Exception"
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error)
    return { step, invariant: name, detail }
  }
  const violation = checkState(sim.cluster) ?? checkTransition(before, sim.cluster)
  return violation === undefined ? undefined : { step, ...violation }
}

/** Applies one step; returns a short description of what it did. */
export function applyStep(sim: Simulation, step: Step): string {
  const c = sim.cluster
  if ("tick" in step) return rejection(stepServer(c, step.tick, { type: "Tick" }))
  if ("deliver" in step) return deliverAt(sim, linkHeadPosition(sim.cluster.network, step.deliver))
  if ("deliverAny" in step) return deliverAt(sim, step.deliverAny)
  if ("drop" in step) return dropAt(sim, step.drop)
  if ("duplicate" in step) return duplicateAt(sim, step.duplicate)
  if ("partition" in step) return partition(sim, step.partition)
  if ("heal" in step) return heal(sim)
  if ("crash" in step) return crash(sim, step.crash)
  if ("propose" in step) return request(sim, step.propose, { type: "Propose", data: [value(step.value)] })
  if ("read" in step) return request(sim, step.read, { type: "ReadIndex", context: sim.nextReadContext++ })
  if ("transfer" in step) return request(sim, step.transfer, { type: "TransferLeader", target: step.to })
  if ("compact" in step) return compact(sim, step.compact, step.at)
  return request(sim, step.confChange, { type: "ProposeConfChange", changes: step.changes })
}

/**
 * A client request at server `id`. Like a real client, it follows a NotLeader refusal to the
 * leader that server knows of (once), so that requests reach leaders often enough to matter.
 */
function request(sim: Simulation, id: NodeId, input: Input): string {
  const refusal = rejection(stepServer(sim.cluster, id, input))
  const leader = server(sim.cluster, id).raft.leaderId
  if (refusal !== "rejected: NotLeader" || leader === None || leader === id) return refusal
  const forwarded = rejection(stepServer(sim.cluster, leader, input))
  return `forwarded to ${leader}${forwarded === "" ? "" : `, ${forwarded}`}`
}

function rejection(ready: Ready): string {
  return ready.rejection === undefined ? "" : `rejected: ${ready.rejection}`
}

/** Whether a partition separates `a` from `b`. */
function separated(sim: Simulation, a: NodeId, b: NodeId): boolean {
  return sim.sides !== undefined && sim.sides.get(a) !== sim.sides.get(b)
}

/** Position in the network of the oldest message on the k-th busy link (modulo their number). */
function linkHeadPosition(network: ReadonlyArray<Message>, k: number): number {
  const seen = new Set<number>()
  const heads: number[] = []
  network.forEach((m, at) => {
    const link = m.from * 1000 + m.to
    if (!seen.has(link)) heads.push(at)
    seen.add(link)
  })
  return heads.length === 0 ? 0 : heads[k % heads.length]!
}

function deliverAt(sim: Simulation, k: number): string {
  const c = sim.cluster
  if (c.network.length === 0) return "nothing in flight"
  const at = k % c.network.length
  const m = c.network[at]!
  if (separated(sim, m.from, m.to)) {
    lose(sim, at)
    return `lost to the partition: ${describeMessage(m)}`
  }
  sim.note = describeMessage(m)
  deliver(c, at)
  // The shell reports a finished snapshot stream so the leader resumes replication (etcd's ReportSnapshot).
  if (m.type === "InstallSnapshotRequest") stepServer(c, m.from, { type: "SnapshotReport", to: m.to, success: true })
  return describeMessage(m)
}

function dropAt(sim: Simulation, k: number): string {
  if (sim.cluster.network.length === 0) return "nothing in flight"
  const m = lose(sim, k % sim.cluster.network.length)
  return `dropped ${describeMessage(m)}`
}

/** Removes the message at `at` from the network: the environment's DropMessage. */
function lose(sim: Simulation, at: number): Message {
  const [m] = sim.cluster.network.splice(at, 1)
  sim.sink?.environment({ action: "DropMessage", message: m! })
  // A failed snapshot stream is reported too, else the leader would wait for it forever.
  if (m!.type === "InstallSnapshotRequest") {
    stepServer(sim.cluster, m!.from, { type: "SnapshotReport", to: m!.to, success: false })
  }
  return m!
}

function duplicateAt(sim: Simulation, k: number): string {
  const network = sim.cluster.network
  if (network.length === 0) return "nothing in flight"
  const m = network[k % network.length]!
  network.push(m)
  sim.sink?.environment({ action: "DuplicateMessage", message: m })
  return `duplicated ${describeMessage(m)}`
}

function partition(sim: Simulation, groups: ReadonlyArray<ReadonlyArray<NodeId>>): string {
  sim.sides = new Map()
  groups.forEach((group, side) => group.forEach((id) => sim.sides!.set(id, side)))
  return ""
}

function heal(sim: Simulation): string {
  sim.sides = undefined
  return ""
}

function crash(sim: Simulation, id: NodeId): string {
  restartServer(sim.cluster, sim.options, id)
  sim.sink?.environment({ action: "Restart", server: id, state: tracedStateOf(server(sim.cluster, id).raft) })
  return ""
}

/** Snapshots the application at an applied index picked by `at` and compacts the log there. */
function compact(sim: Simulation, id: NodeId, at: number): string {
  const log = server(sim.cluster, id).raft.log
  const choices = log.appliedIndex - log.snapshot.meta.index
  if (choices <= 0) return "nothing to compact"
  const index = (log.snapshot.meta.index + 1 + (at % choices)) as LogIndex
  compactLog(sim.cluster, id, index)
  return `at index ${index}`
}

/** The spec variables of one server, as the core's trace events carry them. */
export function tracedStateOf(r: RaftState): TracedState {
  return {
    currentTerm: r.currentTerm,
    state: r.role,
    votedFor: r.votedFor,
    leaderId: r.leaderId,
    commitIndex: r.log.commitIndex,
    snapshotIndex: r.log.snapshot.meta.index,
    snapshotTerm: r.log.snapshot.meta.term,
    log: r.log.entries.slice(),
    config: configOf(r),
  }
}

// ---- Liveness ----

/** Rounds of the tail: generous, since a round is a tick at every server plus a quiet network. */
const livenessRoundsMax = 400
/** Deliveries per round before the network counts as not quiescing (the next round goes on). */
const deliveriesPerRoundMax = 2000

/**
 * Heals the network, then ticks every server and delivers every message, round after round,
 * until some leader's configuration agrees on its whole log as committed.
 */
export function livenessTail(sim: Simulation): SimFailure | undefined {
  heal(sim)
  for (let round = 0; round < livenessRoundsMax; round++) {
    for (const id of sim.options.ids) {
      const failure = checkedAction(sim, "liveness", () => stepServer(sim.cluster, id, { type: "Tick" }))
      if (failure !== undefined) return failure
    }
    for (let n = 0; n < deliveriesPerRoundMax && sim.cluster.network.length > 0; n++) {
      const failure = checkedAction(sim, "liveness", () => deliverAt(sim, 0))
      if (failure !== undefined) return failure
    }
    if (converged(sim.cluster)) return undefined
  }
  return {
    step: "liveness",
    invariant: "Liveness",
    detail: `no leader with a converged configuration after ${livenessRoundsMax} healed rounds: ${describeServers(sim.cluster)}`,
  }
}

/**
 * Whether the leader of the highest term has committed its whole log under a settled (not joint,
 * no pending change) configuration and every member of that configuration has committed it too.
 * Servers outside the configuration (removed ones) are left out: nobody replicates to them.
 */
export function converged(c: ClusterState): boolean {
  const leaders = [...c.servers.values()].map((s) => s.raft).filter((r) => r.role === "Leader")
  if (leaders.length === 0) return false
  const leader = leaders.reduce((a, b) => (b.currentTerm > a.currentTerm ? b : a))
  const cfg = configOf(leader)
  if (isJoint(cfg) || hasUncommittedConfig(leader.log)) return false
  const last = lastIndex(leader.log)
  if (leader.log.commitIndex !== last) return false
  return configMembers(cfg).every((id) => {
    const r = server(c, id).raft
    return r.log.commitIndex === last && termAt(r.log, last) === termAt(leader.log, last)
  })
}

// ---- Descriptions for replays ----

const roleLetter = { Follower: "F", PreCandidate: "P", Candidate: "C", Leader: "L" } as const

/** Each server as `id:Role term commit/last`, e.g. `1:L t3 c5/7`. */
export function describeServers(c: ClusterState): string {
  return [...c.servers.values()]
    .map(({ raft: r }) => `${r.id}:${roleLetter[r.role]} t${r.currentTerm} c${r.log.commitIndex}/${lastIndex(r.log)}`)
    .join("  ")
}

export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`
  switch (m.type) {
    case "RequestVoteRequest":
      return `${head}${m.preVote ? " pre" : ""}${m.leaderTransfer ? " transfer" : ""} last=${m.lastLogIndex}/t${m.lastLogTerm}`
    case "RequestVoteResponse":
      return `${head}${m.preVote ? " pre" : ""} ${m.voteGranted ? "granted" : "refused"}`
    case "AppendEntriesRequest": {
      const range = m.entries.length === 0 ? "none" : `${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}`
      return `${head} prev=${m.prevLogIndex}/t${m.prevLogTerm} entries=${range} commit=${m.commitIndex}`
    }
    case "AppendEntriesResponse":
      return `${head} ${m.success ? "ok" : "reject"} match=${m.matchIndex} hint=${m.hintIndex}`
    case "HeartbeatRequest":
      return `${head} commit=${m.commitIndex} ctx=${m.context}`
    case "HeartbeatResponse":
      return `${head} ctx=${m.context}`
    case "InstallSnapshotRequest":
      return `${head} snapshot=${m.snapshot.meta.index}/t${m.snapshot.meta.term}`
    case "TimeoutNowRequest":
      return head
  }
}
