// The environment and client actions of the model: which are enabled in a state, and their
// effect. Every effect runs the real core through the Cluster harness (stepServer, deliver,
// restartServer); the only direct writes are to timer counters, which stand for time passing.
// Successors are copy-on-write: only the server an action touches is cloned.
import type { ConfChange, Input, Ready } from "../../src/raft/Api.ts"
import { cloneRaft } from "../../src/raft/RawNode.ts"
import { config } from "../../src/raft/Raft.ts"
import { isVoter, type LogIndex, type Message, type NodeId, None } from "../../src/raft/Types.ts"
import type { Bounds } from "./Bounds.ts"
import { messageKey } from "./Canonical.ts"
import type { ModelState, Spent } from "./ModelState.ts"
import {
  type ClusterOptions,
  type ClusterState,
  compactLog,
  deliver,
  type ReadRecord,
  restartServer,
  type Server,
  stepServer,
  value,
} from "./Cluster.ts"

export type Action =
  /** Network actions name a message by its position in the state's network. */
  | { readonly kind: "Deliver"; readonly index: number }
  | { readonly kind: "Drop"; readonly index: number }
  | { readonly kind: "Duplicate"; readonly index: number }
  | { readonly kind: "Hup"; readonly server: NodeId }
  | { readonly kind: "Beat"; readonly server: NodeId }
  | { readonly kind: "CheckQuorum"; readonly server: NodeId }
  | { readonly kind: "Propose"; readonly server: NodeId; readonly value: number }
  | { readonly kind: "ReadIndex"; readonly server: NodeId; readonly context: number }
  | { readonly kind: "TransferLeader"; readonly server: NodeId; readonly target: NodeId }
  | { readonly kind: "TransferTimeout"; readonly server: NodeId }
  | {
      readonly kind: "ProposeConfChange"
      readonly server: NodeId
      readonly changes: ReadonlyArray<ConfChange>
    }
  | { readonly kind: "CompactLog"; readonly server: NodeId; readonly index: LogIndex }
  | {
      readonly kind: "SnapshotReport"
      readonly server: NodeId
      readonly target: NodeId
      readonly success: boolean
    }
  | { readonly kind: "Restart"; readonly server: NodeId }
  | { readonly kind: "ExpireLease"; readonly server: NodeId }

export interface ModelContext {
  readonly bounds: Bounds
  readonly clusterOptions: ClusterOptions
}

/** Every action enabled in `state` (one per distinct message for network actions). */
export function enabledActions(state: ModelState, bounds: Bounds): Action[] {
  const actions: Action[] = []
  addMessageActions(state, bounds, actions)
  for (const [id, s] of state.cluster.servers) {
    if (s.raft.role === "Leader") addLeaderActions(state, bounds, id, s, actions)
    else addFollowerActions(bounds, id, s, actions)
    addStorageActions(state, bounds, id, s, actions)
  }
  return actions
}

/** Calls `f` once per distinct message in flight (copies of one message are interchangeable). */
function forEachDistinctMessage(state: ModelState, f: (index: number) => void): void {
  const network = state.cluster.network
  const seen = new Set<string>()
  for (let index = 0; index < network.length; index++) {
    const key = messageKey(network[index]!)
    if (seen.has(key)) continue
    seen.add(key)
    f(index)
  }
}

function addMessageActions(state: ModelState, bounds: Bounds, actions: Action[]): void {
  // A copy beyond the bound would only make a leaf.
  const mayDuplicate = state.spent.duplicates < bounds.maxDuplicates &&
    state.cluster.network.length < bounds.maxMessages
  forEachDistinctMessage(state, (index) => {
    actions.push({ kind: "Deliver", index }, { kind: "Drop", index })
    if (mayDuplicate) actions.push({ kind: "Duplicate", index })
  })
}

function addFollowerActions(bounds: Bounds, id: NodeId, s: Server, actions: Action[]): void {
  const r = s.raft
  if (isVoter(config(r), id)) actions.push({ kind: "Hup", server: id })
  const leaseLive = r.electionElapsedTicks < r.options.electionTimeoutTicks
  if (bounds.leaseExpiry && r.role === "Follower" && r.leaderId !== None && leaseLive) {
    actions.push({ kind: "ExpireLease", server: id })
  }
}

function addLeaderActions(
  state: ModelState,
  bounds: Bounds,
  id: NodeId,
  s: Server,
  actions: Action[],
): void {
  const r = s.raft
  const spent = state.spent
  if (bounds.heartbeats) actions.push({ kind: "Beat", server: id })
  if (bounds.checkQuorumAction) actions.push({ kind: "CheckQuorum", server: id })
  const transferring = r.leadTransferee !== None
  if (!transferring && spent.proposals < bounds.maxProposals) {
    actions.push({ kind: "Propose", server: id, value: spent.proposals + 1 })
  }
  if (spent.reads < bounds.maxReads) {
    actions.push({ kind: "ReadIndex", server: id, context: spent.reads + 1 })
  }
  if (spent.transfers < bounds.maxTransfers) {
    const c = config(r)
    for (const target of state.cluster.servers.keys()) {
      if (target === id || !isVoter(c, target) || target === r.leadTransferee) continue
      actions.push({ kind: "TransferLeader", server: id, target })
    }
  }
  if (transferring) actions.push({ kind: "TransferTimeout", server: id })
  if (!transferring && spent.confChanges < bounds.maxConfChanges) {
    for (const changes of bounds.confChanges) {
      actions.push({ kind: "ProposeConfChange", server: id, changes })
    }
  }
  for (const [target, pr] of r.progress) {
    if (pr.state !== "Snapshot") continue
    actions.push({ kind: "SnapshotReport", server: id, target, success: false })
    actions.push({ kind: "SnapshotReport", server: id, target, success: true })
  }
}

function addStorageActions(
  state: ModelState,
  bounds: Bounds,
  id: NodeId,
  s: Server,
  actions: Action[],
): void {
  if (state.spent.compactions < bounds.maxCompactions) {
    const log = s.raft.log
    for (let index = log.snapshot.meta.index + 1; index <= log.appliedIndex; index++) {
      actions.push({ kind: "CompactLog", server: id, index: index as LogIndex })
    }
  }
  if (state.spent.restarts < bounds.maxRestarts) actions.push({ kind: "Restart", server: id })
}

/** The message a network action names, in the state it is taken from. */
export function actionMessage(state: ModelState, action: Action): Message | undefined {
  const kind = action.kind
  if (kind !== "Deliver" && kind !== "Drop" && kind !== "Duplicate") return undefined
  const message = state.cluster.network[action.index]
  if (message === undefined) throw new Error(`model: no message at ${action.index}`)
  return message
}

/** The server an action taken from `state` changes, if any (Drop and Duplicate change none). */
export function actingServer(state: ModelState, action: Action): NodeId | undefined {
  switch (action.kind) {
    case "Deliver": return actionMessage(state, action)!.to
    case "Drop":
    case "Duplicate": return undefined
    default: return action.server
  }
}

/** A copy of `state` that `action` may mutate: the acting server is cloned, others shared. */
function writableCopy(state: ModelState, touched: NodeId | undefined): ClusterState {
  const c = state.cluster
  const servers = new Map(c.servers)
  if (touched !== undefined) {
    const s = c.servers.get(touched)!
    servers.set(touched, {
      raft: cloneRaft(s.raft),
      storage: s.storage,
      applied: s.applied.slice(),
      appliedIndex: s.appliedIndex,
    })
  }
  return { servers, network: c.network.slice(), reads: liveReads(c) }
}

/**
 * Copies of the read records that can still change: an answered read was checked (ReadSafety)
 * in the state that answered it, and a read whose server no longer leads was forgotten by it
 * (the core clears its read rounds on any role or term change) and will never be answered.
 */
function liveReads(c: ClusterState): ReadRecord[] {
  const live: ReadRecord[] = []
  for (const r of c.reads) {
    const leads = c.servers.get(r.server)!.raft.role === "Leader"
    if (r.index === undefined && leads) live.push({ ...r })
  }
  return live
}

const spend = (spent: Spent, kind: keyof Spent): Spent => ({ ...spent, [kind]: spent[kind] + 1 })

/** The successor of `state` under `action`. Throws what the core throws (AssertionFailure). */
export function applyAction(state: ModelState, action: Action, context: ModelContext): ModelState {
  const c = writableCopy(state, actingServer(state, action))
  const spent = applyTo(c, state.spent, action, context)
  return { cluster: c, spent }
}

function applyTo(c: ClusterState, spent: Spent, action: Action, context: ModelContext): Spent {
  switch (action.kind) {
    case "Deliver":
      deliver(c, action.index)
      return spent
    case "Drop":
      c.network.splice(action.index, 1)
      return spent
    case "Duplicate":
      c.network.push(c.network[action.index]!)
      return spend(spent, "duplicates")
    case "Restart":
      restartServer(c, context.clusterOptions, action.server)
      return spend(spent, "restarts")
    case "ExpireLease":
      c.servers.get(action.server)!.raft.electionElapsedTicks =
        context.clusterOptions.electionTimeoutTicks!
      return spent
    case "TransferTimeout":
      return leaderTimerFires(c, spent, action.server, context)
    default:
      return applyInput(c, spent, action)
  }
}

/**
 * The leader's election timer fires: one Tick from just below the election timeout runs the
 * code's own CheckQuorum and leader-transfer abort (heartbeatElapsed is reset so no Beat fires).
 */
function leaderTimerFires(c: ClusterState, spent: Spent, id: NodeId, context: ModelContext): Spent {
  const r = c.servers.get(id)!.raft
  r.electionElapsedTicks = context.clusterOptions.electionTimeoutTicks! - 1
  r.heartbeatElapsedTicks = 0
  stepServer(c, id, { type: "Tick" })
  return spent
}

type InputAction = Exclude<
  Action,
  { kind: "Deliver" | "Drop" | "Duplicate" | "Restart" | "ExpireLease" | "TransferTimeout" }
>

/** Client and timer inputs; a budget is spent only if the core took the request. */
function applyInput(c: ClusterState, spent: Spent, action: InputAction): Spent {
  const taken = (ready: Ready, kind: keyof Spent): Spent =>
    ready.rejection === undefined ? spend(spent, kind) : spent
  const id = action.server
  switch (action.kind) {
    case "Hup": return step(c, id, { type: "Hup" }, spent)
    case "Beat": return step(c, id, { type: "Beat" }, spent)
    case "CheckQuorum": return step(c, id, { type: "CheckQuorum" }, spent)
    case "Propose":
      return taken(stepServer(c, id, { type: "Propose", data: [value(action.value)] }), "proposals")
    case "ReadIndex":
      return taken(stepServer(c, id, { type: "ReadIndex", context: action.context }), "reads")
    case "TransferLeader": {
      const input: Input = { type: "TransferLeader", target: action.target }
      return taken(stepServer(c, id, input), "transfers")
    }
    case "ProposeConfChange": {
      const input: Input = { type: "ProposeConfChange", changes: action.changes }
      return taken(stepServer(c, id, input), "confChanges")
    }
    case "CompactLog":
      compactLog(c, id, action.index)
      return spend(spent, "compactions")
    case "SnapshotReport": {
      const input: Input = { type: "SnapshotReport", to: action.target, success: action.success }
      return step(c, id, input, spent)
    }
  }
}

function step(c: ClusterState, id: NodeId, input: Input, spent: Spent): Spent {
  stepServer(c, id, input)
  return spent
}
