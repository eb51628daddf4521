// Breadth-first explicit-state search over clusters of real src/raft servers. Every new state
// is checked against the spec's invariants, every transition against its action properties
// (and the step rules of StepRules.ts), and an AssertionFailure thrown by the core (which runs
// with verify: true) is a violation too.
// BFS finds a violation at the least depth, so counterexamples are minimal in steps. States are
// deduplicated by a 64-bit fingerprint, the same for states equal up to renaming servers
// (Canonical.ts); the frontier keeps each state and a parent pointer to rebuild the path.
import { AssertionFailure } from "../../src/assert.ts"
import type { BugName } from "../../src/raft/Bugs.ts"
import { lastIndex } from "../../src/raft/RaftLog.ts"
import type { NodeId } from "../../src/raft/Types.ts"
import {
  type Action,
  actingServer,
  applyAction,
  enabledActions,
  type ModelContext,
} from "./Actions.ts"
import type { Bounds } from "./Bounds.ts"
import { Canonicalizer, FingerprintSet, symmetries } from "./Canonical.ts"
import { type ModelState, noneSpent } from "./ModelState.ts"
import { type ClusterOptions, newCluster } from "./Cluster.ts"
import { checkState, checkTransition, type Violation } from "./Invariants.ts"
import { checkStepRules } from "./StepRules.ts"

export interface ExploreOptions {
  readonly bounds: Bounds
  readonly bugs?: ReadonlySet<BugName>
  /** Stop (search incomplete) after this many seconds. */
  readonly secondsLimit?: number
  /** Keep searching after a violation (violating states are not expanded). */
  readonly keepGoing?: boolean
  /** Reduce by symmetry of server ids (default true; off to cross-check the reduction). */
  readonly symmetry?: boolean
  /** Called after each BFS level. */
  readonly onLevel?: (progress: LevelProgress) => void
}

export interface LevelProgress {
  readonly depth: number
  readonly frontier: number
  readonly states: number
  readonly distinct: number
  readonly seconds: number
}

/** The actions from the initial state to a violation (the last one reaches or throws it). */
export interface Counterexample {
  readonly violation: Violation
  readonly actions: ReadonlyArray<Action>
}

export interface ExploreResult {
  /** Transitions computed (successor states, duplicates included). */
  readonly states: number
  readonly distinct: number
  readonly depth: number
  readonly violations: number
  readonly seconds: number
  /** False if the time limit stopped the search (or it stopped at a violation). */
  readonly complete: boolean
  readonly counterexample: Counterexample | undefined
}

interface TraceNode {
  readonly parent: TraceNode | undefined
  readonly action: Action
}

interface Item {
  readonly state: ModelState
  readonly node: TraceNode | undefined
  readonly hi: number
  readonly lo: number
}

export function clusterOptionsFor(bounds: Bounds, bugs?: ReadonlySet<BugName>): ClusterOptions {
  return {
    ids: bounds.ids,
    initialConfig: bounds.initialConfig,
    preVote: bounds.preVote,
    checkQuorum: bounds.checkQuorum,
    electionTimeoutTicks: 10,
    heartbeatTimeoutTicks: 5,
    appendEntriesCountMax: bounds.appendEntriesCountMax,
    inflightCountMax: bounds.inflightCountMax,
    ...(bugs === undefined || bugs.size === 0 ? {} : { bugs }),
  }
}

export function modelContext(bounds: Bounds, bugs?: ReadonlySet<BugName>): ModelContext {
  return { bounds, clusterOptions: clusterOptionsFor(bounds, bugs) }
}

export function initialState(context: ModelContext): ModelState {
  return { cluster: newCluster(context.clusterOptions), spent: noneSpent }
}

/** Whether a state lies beyond the state constraints (checked, but not expanded). */
export function exceedsBounds(state: ModelState, bounds: Bounds): boolean {
  const c = state.cluster
  if (c.network.length > bounds.maxMessages) return true
  for (const s of c.servers.values()) {
    if (s.raft.currentTerm > bounds.maxTerm || lastIndex(s.raft.log) > bounds.maxLog) return true
  }
  return false
}

/** The harness keeps storage in step with memory; a mismatch would make hashing unsound. */
function checkHarness(state: ModelState, id: NodeId | undefined): Violation | undefined {
  if (id === undefined) return undefined
  const s = state.cluster.servers.get(id)!
  const stored = s.storage.snapshot.meta.index + s.storage.entries.length
  if (stored === lastIndex(s.raft.log)) return undefined
  const held = lastIndex(s.raft.log)
  return { invariant: "Harness", detail: `server ${id} stores log up to ${stored}, holds ${held}` }
}

export function canonicalizerFor(bounds: Bounds, symmetry = true): Canonicalizer {
  const all = symmetries(bounds.ids, bounds.initialConfig, bounds.confChanges)
  return new Canonicalizer(symmetry ? all : all.slice(0, 1))
}

class Search {
  readonly context: ModelContext
  readonly canonical: Canonicalizer
  readonly seen = new FingerprintSet()
  states = 0
  depth = 0
  violations = 0
  counterexample: Counterexample | undefined = undefined
  next: Item[] = []

  constructor(context: ModelContext, canonical: Canonicalizer) {
    this.context = context
    this.canonical = canonical
  }

  violation(violation: Violation, node: TraceNode): void {
    this.violations += 1
    if (this.counterexample !== undefined) return
    const actions: Action[] = []
    for (let n: TraceNode | undefined = node; n !== undefined; n = n.parent) actions.push(n.action)
    this.counterexample = { violation, actions: actions.reverse() }
  }

  /** Computes, checks and enqueues the successors of one state. */
  expand(item: Item, depth: number): void {
    for (const action of enabledActions(item.state, this.context.bounds)) {
      this.states += 1
      const node: TraceNode = { parent: item.node, action }
      const child = this.successor(item.state, action, node)
      if (child === undefined) continue
      const broken = checkTransition(item.state.cluster, child.cluster) ??
        checkStepRules(item.state, child, action) ??
        checkHarness(child, actingServer(item.state, action))
      if (broken !== undefined) {
        this.violation(broken, node)
        continue
      }
      const { hi, lo } = this.canonical.fingerprint(child)
      if (hi === item.hi && lo === item.lo) continue // the action changed nothing
      if (!this.seen.add(hi, lo)) continue
      this.depth = Math.max(this.depth, depth)
      const bad = checkState(child.cluster)
      if (bad !== undefined) this.violation(bad, node)
      else this.next.push({ state: child, node, hi, lo })
    }
  }

  private successor(state: ModelState, action: Action, node: TraceNode): ModelState | undefined {
    try {
      return applyAction(state, action, this.context)
    } catch (error) {
      this.violation(assertionViolation(error), node)
      return undefined
    }
  }
}

export function assertionViolation(error: unknown): Violation {
  if (error instanceof AssertionFailure) {
    return { invariant: `Assertion: ${error.message}`, detail: "" }
  }
  // Anything else is a bug of the harness (or a crash of the core): report it, never hide it.
  if (!(error instanceof Error)) return { invariant: `Crash: ${String(error)}`, detail: "" }
  return { invariant: `Crash: ${error.message}`, detail: error.stack ?? "" }
}

export function explore(options: ExploreOptions): ExploreResult {
  const started = performance.now()
  const seconds = (): number => (performance.now() - started) / 1000
  const canonical = canonicalizerFor(options.bounds, options.symmetry)
  const search = new Search(modelContext(options.bounds, options.bugs), canonical)
  const initial = initialState(search.context)
  const { hi, lo } = canonical.fingerprint(initial)
  search.seen.add(hi, lo)
  let frontier: Item[] = [{ state: initial, node: undefined, hi, lo }]
  let complete = true
  for (let depth = 1; frontier.length > 0; depth++) {
    search.next = []
    for (let k = 0; k < frontier.length; k++) {
      const item = frontier[k]!
      if (!exceedsBounds(item.state, options.bounds)) search.expand(item, depth)
      frontier[k] = undefined as never // let the expanded state be collected
      if (search.violations > 0 && options.keepGoing !== true) {
        return result(search, seconds(), false)
      }
      const limit = options.secondsLimit
      if (limit !== undefined && (k & 255) === 0 && seconds() > limit) {
        complete = false
        break
      }
    }
    frontier = complete ? search.next : []
    const { states, seen } = search
    const distinct = seen.size
    options.onLevel?.({ depth, frontier: frontier.length, states, distinct, seconds: seconds() })
  }
  return result(search, seconds(), complete)
}

function result(search: Search, seconds: number, complete: boolean): ExploreResult {
  return {
    states: search.states,
    distinct: search.seen.size,
    depth: search.depth,
    violations: search.violations,
    seconds,
    complete,
    counterexample: search.counterexample,
  }
}

export interface Replay {
  /** Every state along the path (the last is before the failing step if one threw). */
  readonly states: ModelState[]
  /** The violation the replay meets: a throw, a broken transition, or a bad last state. */
  readonly violation: Violation | undefined
}

/** Replays a path from the initial state, checking each step as the search did. */
export function replay(
  bounds: Bounds,
  bugs: ReadonlySet<BugName> | undefined,
  actions: ReadonlyArray<Action>,
): Replay {
  const context = modelContext(bounds, bugs)
  const states = [initialState(context)]
  for (const action of actions) {
    const before = states[states.length - 1]!
    let after: ModelState
    try {
      after = applyAction(before, action, context)
    } catch (error) {
      return { states, violation: assertionViolation(error) }
    }
    states.push(after)
    const broken = checkTransition(before.cluster, after.cluster) ??
      checkStepRules(before, after, action) ?? checkHarness(after, actingServer(before, action))
    if (broken !== undefined) return { states, violation: broken }
  }
  return { states, violation: checkState(states[states.length - 1]!.cluster) }
}
