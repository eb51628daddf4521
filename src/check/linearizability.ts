// Checks a whole history: linearizability is P-compositional, so the history is linearizable iff
// each independent component is (components.ts), and each component is searched on its own: a
// single key of single-key commands by the register search, anything with txns by the map search.
// A violation is shrunk to a small set of operations that is still not linearizable.
import { StepBudget } from "./budget.ts"
import { partitionHistory, type Component } from "./components.ts"
import { isReadOnly, type History, type Operation } from "./history.ts"
import { searchMapLinearization } from "./map-search.ts"
import { searchLinearization, type SearchResult } from "./register-search.ts"

export type CheckResult =
  | { readonly kind: "linearizable"; readonly components: number; readonly stepsUsed: number }
  | {
      readonly kind: "violation"
      /** The keys of the component that is not linearizable, sorted. */
      readonly keys: ReadonlyArray<string>
      /** A non-linearizable subset of the component's operations, in invocation order. */
      readonly operations: ReadonlyArray<Operation>
      /** True when the shrinking finished: dropping any one of `operations` makes the rest linearizable. */
      readonly minimal: boolean
      readonly components: number
      readonly stepsUsed: number
    }
  | {
      readonly kind: "unknown"
      readonly reason: "budget"
      /** The keys of the component whose search ran out of steps. */
      readonly keys: ReadonlyArray<string>
      readonly components: number
      readonly stepsUsed: number
    }

export interface CheckOptions {
  /** Search steps allowed for the whole check, shrinking included. */
  readonly stepsMax: number
}

type Search = (operations: ReadonlyArray<Operation>, budget: StepBudget) => SearchResult

function searchOf(component: Component): Search {
  return component.model === "register"
    ? (operations, budget) => searchLinearization(operations, null, budget)
    : searchMapLinearization
}

/** The history's independent components, as checkHistory searches them. */
export function checkedComponents(history: History): Array<Component> {
  // A read that never returned constrains nothing and only widens the search.
  const relevant = (operation: Operation): boolean =>
    operation.completion !== undefined || !isReadOnly(operation.command)
  return partitionHistory(history.filter(relevant))
}

export function checkHistory(history: History, options: CheckOptions): CheckResult {
  const budget = new StepBudget(options.stepsMax)
  const components = checkedComponents(history)
  for (const component of components) {
    const search = searchOf(component)
    const result = search(component.operations, budget)
    if (result === "budget-exhausted") {
      // Another component may still be proven wrong, but with no steps left none can be searched.
      return {
        kind: "unknown", reason: "budget", keys: component.keys, components: components.length, stepsUsed: budget.used,
      }
    }
    if (result === "not-linearizable") {
      const shrunk = shrinkViolation(component.operations, search, budget)
      return {
        kind: "violation", keys: component.keys, operations: shrunk.operations, minimal: shrunk.minimal,
        components: components.length, stepsUsed: budget.used,
      }
    }
  }
  return { kind: "linearizable", components: components.length, stepsUsed: budget.used }
}

/**
 * Linearizability is prefix-closed, so the shortest failing prefix (cut at a return time, with
 * operations still running at the cut treated as unanswered) is found by bisection. Then
 * operations are dropped, in chunks of halving size down to single ones, until a pass drops
 * nothing. Dropping only ever relaxes: a dropped operation stays in the searched history as if
 * its reply had been lost (it may take effect at any time after its call, or not at all; a read
 * then constrains nothing). Removing a write outright could invent a violation (a failed CAS
 * with the write that explains it gone), so the operations reported fail even when every other
 * write of the prefix may or may not have happened. If the budget runs out first, the smallest
 * failing set found so far is returned and marked as not minimal.
 */
function shrinkViolation(operations: ReadonlyArray<Operation>, search: Search, budget: StepBudget): ShrunkViolation {
  const originalOf = new Map<Operation, Operation>()
  const fails = (subset: ReadonlyArray<Operation>): boolean | undefined => {
    const result = search(subset, budget)
    return result === "budget-exhausted" ? undefined : result === "not-linearizable"
  }
  const prefix = shortestFailingPrefix(operations, fails, originalOf)
  let kept = prefix
  let relaxed: ReadonlyArray<Operation> = []
  // Giving an operation its real reply only adds constraints, so the originals still fail.
  const report = (minimal: boolean): ShrunkViolation =>
    ({ operations: kept.map((operation) => originalOf.get(operation) ?? operation), minimal })
  const tryDrop = (start: number, end: number): "dropped" | "kept" | "budget" => {
    const dropped = kept.slice(start, end).flatMap(unanswered)
    const candidate = [...kept.slice(0, start), ...kept.slice(end)]
    const verdict = fails([...candidate, ...relaxed, ...dropped])
    if (verdict === undefined) return "budget"
    if (!verdict) return "kept"
    kept = candidate
    relaxed = [...relaxed, ...dropped]
    return "dropped"
  }
  let chunk = Math.max(1, Math.floor(kept.length / 2))
  for (;;) {
    let droppedAny = false
    // Dropping [start, end) leaves the indexes below start unchanged, so the walk goes downwards.
    for (let end = kept.length; end > 0; end -= chunk) {
      const outcome = tryDrop(Math.max(0, end - chunk), end)
      if (outcome === "budget") return report(false)
      if (outcome === "dropped") droppedAny = true
    }
    if (chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2))
    else if (!droppedAny) return report(true)
  }
}

/** The operation as if its reply had been lost; a read without a reply is nothing at all. */
function unanswered(operation: Operation): Array<Operation> {
  if (isReadOnly(operation.command)) return []
  return [{ clientId: operation.clientId, command: operation.command, invokeTime: operation.invokeTime }]
}

interface ShrunkViolation {
  readonly operations: ReadonlyArray<Operation>
  readonly minimal: boolean
}

function prefixAt(
  operations: ReadonlyArray<Operation>,
  cutTime: number,
  originalOf: Map<Operation, Operation>,
): Array<Operation> {
  const prefix: Array<Operation> = []
  for (const operation of operations) {
    if (operation.invokeTime > cutTime) continue
    const completion = operation.completion
    if (completion === undefined || completion.returnTime <= cutTime) prefix.push(operation)
    else {
      const running = { clientId: operation.clientId, command: operation.command, invokeTime: operation.invokeTime }
      originalOf.set(running, operation)
      prefix.push(running)
    }
  }
  return prefix
}

function shortestFailingPrefix(
  operations: ReadonlyArray<Operation>,
  fails: (subset: ReadonlyArray<Operation>) => boolean | undefined,
  originalOf: Map<Operation, Operation>,
): ReadonlyArray<Operation> {
  const cutTimes = [...new Set(operations.flatMap((operation) => operation.completion?.returnTime ?? []))]
    .sort((a, b) => a - b)
  // Invariant: the prefix at cutTimes[high] fails (the whole history does); below low none is known to.
  let low = 0
  let high = cutTimes.length - 1
  let failing: ReadonlyArray<Operation> = operations
  while (low < high) {
    const middle = (low + high) >>> 1
    const prefix = prefixAt(operations, cutTimes[middle]!, originalOf)
    const verdict = fails(prefix)
    if (verdict === undefined) return failing
    if (verdict) {
      high = middle
      failing = prefix
    } else {
      low = middle + 1
    }
  }
  if (failing === operations && cutTimes.length > 0) {
    const prefix = prefixAt(operations, cutTimes[high]!, originalOf)
    if (fails(prefix) === true) failing = prefix
  }
  return failing
}
