// Schedules for the random simulation: plain, printable steps and the fast-check arbitraries that
// generate them. Steps that pick a message name it by position modulo the network's size, and
// steps that do not apply (a proposal at a follower, a compaction with nothing applied) do
// nothing, so that every sub-schedule the shrinker tries is still a valid schedule.
import fc from "fast-check"
import type { ConfChange } from "../../src/raft/Api.ts"
import type { BugName } from "../../src/raft/Bugs.ts"
import type { NodeId } from "../../src/raft/Types.ts"

export type Step =
  /** One unit of logical time at a server (the core's real Tick: timeouts, heartbeats, lease). */
  | { readonly tick: NodeId }
  /**
   * Deliver the oldest message of the k-th link (k modulo the links with messages in flight):
   * links are FIFO like the TCP streams of a real transport, messages across links interleave.
   */
  | { readonly deliver: number }
  /** Deliver the k-th message in flight, overtaking older ones on its link (reordering). */
  | { readonly deliverAny: number }
  | { readonly drop: number }
  | { readonly duplicate: number }
  /** Servers in different groups cannot talk; their messages are dropped on delivery. */
  | { readonly partition: ReadonlyArray<ReadonlyArray<NodeId>> }
  | { readonly heal: true }
  /** Crash and restart from storage. */
  | { readonly crash: NodeId }
  | { readonly propose: NodeId; readonly value: number }
  | { readonly read: NodeId }
  | { readonly transfer: NodeId; readonly to: NodeId }
  /** Snapshot and compact the log at an applied index chosen by `at` (modulo the choices). */
  | { readonly compact: NodeId; readonly at: number }
  /** One or two membership changes proposed together (two at once make bigger joint steps). */
  | { readonly confChange: NodeId; readonly changes: ReadonlyArray<ConfChange> }

export type StepKind =
  | "tick" | "deliver" | "deliverAny" | "drop" | "duplicate" | "partition" | "heal" | "crash"
  | "propose" | "read" | "transfer" | "compact" | "confChange"

/** The fixed parameters of one property: cluster shape, protocol options, budget. */
export interface SimConfig {
  readonly name: string
  readonly servers: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  /** How often each kind of step is drawn (confChange > 0: membership changes). */
  readonly weights: StepWeights
  /** Short timeouts so that a few hundred steps see several elections. */
  readonly electionTimeoutTicks: number
  readonly heartbeatTimeoutTicks: number
  /** Small batches and windows so that replication takes several messages. */
  readonly appendEntriesCountMax: number
  readonly inflightCountMax: number
  /** Most steps in a schedule (lengths are spread evenly up to it: half of it on average). */
  readonly maxSteps: number
  /** After the schedule: heal and check that a leader emerges and commit indexes converge. */
  readonly liveness: boolean
  readonly bugs?: ReadonlySet<BugName>
}

/** One generated run: the seed of the cores' timer PRNGs and the schedule. */
export interface Run {
  readonly seed: number
  readonly schedule: ReadonlyArray<Step>
}

export const serverIds = (config: SimConfig): NodeId[] =>
  Array.from({ length: config.servers }, (_, k) => (k + 1) as NodeId)

/** A configuration: the defaults below, `overrides` on top. */
export function simConfig(overrides: Partial<SimConfig> & Pick<SimConfig, "name" | "servers">): SimConfig {
  return {
    preVote: true,
    checkQuorum: true,
    weights: chaoticWeights(overrides.servers),
    electionTimeoutTicks: 3,
    heartbeatTimeoutTicks: 1,
    appendEntriesCountMax: 1,
    inflightCountMax: 4,
    maxSteps: 800,
    liveness: false,
    ...overrides,
  }
}

/**
 * The properties CI runs, each with its liveness tail. With PreVote or CheckQuorum a server whose
 * term ran ahead of the leader's is heard only because it answers the leader's stale requests
 * with its term (HandleStaleLeaderRequest); test/sim/zoo.test.ts shows that without that answer
 * the liveness tail fails.
 */
export const simConfigs = {
  threePreVote: simConfig({ name: "3 servers, PreVote and CheckQuorum", servers: 3, liveness: true }),
  threePlain: simConfig({ name: "3 servers, no PreVote or CheckQuorum", servers: 3, preVote: false, checkQuorum: false, liveness: true }),
  fiveMembership: simConfig({
    name: "5 servers, membership changes",
    servers: 5,
    weights: { ...calmWeights(5), confChange: 6 },
    appendEntriesCountMax: 3,
    liveness: true,
  }),
} as const

/** A server id of the cluster. */
function serverArbitrary(config: SimConfig): fc.Arbitrary<NodeId> {
  return fc.integer({ min: 1, max: config.servers }).map((n) => n as NodeId)
}

/** Groups of a partition: each server is assigned one of three sides; empty sides vanish. */
function partitionArbitrary(config: SimConfig): fc.Arbitrary<Step> {
  return fc
    .array(fc.integer({ min: 0, max: 2 }), { minLength: config.servers, maxLength: config.servers })
    .map((sides) => {
      const groups = [0, 1, 2].map((side) => serverIds(config).filter((_, k) => sides[k] === side))
      return { partition: groups.filter((g) => g.length > 0) }
    })
}

function confChangeArbitrary(config: SimConfig): fc.Arbitrary<ConfChange> {
  return fc.record({
    type: fc.constantFrom("AddVoter" as const, "AddLearner" as const, "RemoveNode" as const),
    id: serverArbitrary(config),
  })
}

/** How often each kind of step is drawn, relative to the others. */
export type StepWeights = Readonly<Record<StepKind, number>>

/**
 * Many faults and much reordering: leaders change often and logs diverge. Ticks scale with the
 * servers so that each server's timers run at the same pace whatever the cluster size.
 */
export function chaoticWeights(servers: number): StepWeights {
  return {
    deliver: 80, deliverAny: 40, tick: 8 * servers, drop: 5, duplicate: 2, partition: 4, heal: 6, crash: 3,
    propose: 15, read: 6, transfer: 3, compact: 3, confChange: 0,
  }
}

/** Mostly in-order delivery: enough progress for multi-step protocols (joint consensus) to finish. */
export function calmWeights(servers: number): StepWeights {
  return { ...chaoticWeights(servers), deliver: 130, deliverAny: 20, partition: 3 }
}

/** One step, drawn by the configuration's weights (kinds of weight 0 never appear). */
export function stepArbitrary(config: SimConfig): fc.Arbitrary<Step> {
  const server = serverArbitrary(config)
  const position = fc.nat({ max: 1000 })
  const arbitraries: Record<StepKind, fc.Arbitrary<Step>> = {
    deliver: position.map((deliver) => ({ deliver })),
    deliverAny: position.map((deliverAny) => ({ deliverAny })),
    tick: server.map((tick) => ({ tick })),
    drop: position.map((drop) => ({ drop })),
    duplicate: position.map((duplicate) => ({ duplicate })),
    partition: partitionArbitrary(config),
    heal: fc.constant({ heal: true as const }),
    crash: server.map((crash) => ({ crash })),
    propose: fc.record({ propose: server, value: fc.integer({ min: 1, max: 255 }) }),
    read: server.map((read) => ({ read })),
    transfer: fc.record({ transfer: server, to: server }),
    compact: fc.record({ compact: server, at: position }),
    confChange: fc.record({
      confChange: server,
      changes: fc.array(confChangeArbitrary(config), { minLength: 1, maxLength: 2 }),
    }),
  }
  const weighted = (Object.keys(arbitraries) as StepKind[])
    .filter((kind) => config.weights[kind] > 0)
    .map((kind) => ({ weight: config.weights[kind], arbitrary: arbitraries[kind] }))
  return fc.oneof(...weighted)
}

/** Runs of up to `config.maxSteps` steps, or of exactly `exactSteps` (for traces). */
export function runArbitrary(config: SimConfig, exactSteps?: number): fc.Arbitrary<Run> {
  const length = exactSteps === undefined
    ? { maxLength: config.maxSteps, size: "max" as const }
    : { minLength: exactSteps, maxLength: exactSteps }
  return fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    schedule: fc.array(stepArbitrary(config), length),
  })
}

/** A step as one short line, e.g. `propose 2 value=17` or `partition [1,2] [3]`. */
export function formatStep(step: Step): string {
  if ("tick" in step) return `tick ${step.tick}`
  if ("deliver" in step) return `deliver #${step.deliver}`
  if ("deliverAny" in step) return `deliverAny #${step.deliverAny}`
  if ("drop" in step) return `drop #${step.drop}`
  if ("duplicate" in step) return `duplicate #${step.duplicate}`
  if ("partition" in step) return `partition ${step.partition.map((g) => `[${g.join(",")}]`).join(" ")}`
  if ("heal" in step) return "heal"
  if ("crash" in step) return `crash ${step.crash}`
  if ("propose" in step) return `propose ${step.propose} value=${step.value}`
  if ("read" in step) return `read ${step.read}`
  if ("transfer" in step) return `transfer ${step.transfer} -> ${step.to}`
  if ("compact" in step) return `compact ${step.compact} at=${step.at}`
  return `confChange ${step.confChange} ${step.changes.map((c) => `${c.type} ${c.id}`).join(", ")}`
}
