// Checks a whole history: linearizability is P-compositional (Herlihy & Wing), so the history is
// linearizable iff each key's sub-history is, and each key is searched on its own. A violation is
// shrunk to a small set of operations that is still not linearizable.
import { StepBudget } from "./budget.ts"
import type { History, Operation } from "./history.ts"
import { searchLinearization } from "./register-search.ts"

export type CheckResult =
  | { readonly kind: "linearizable"; readonly stepsUsed: number }
  | {
      readonly kind: "violation"
      readonly key: string
      /** A non-linearizable subset of the key's operations, in invocation order. */
      readonly operations: ReadonlyArray<Operation>
      /** True when the shrinking finished: dropping any one of `operations` makes the rest linearizable. */
      readonly minimal: boolean
      readonly stepsUsed: number
    }
  | { readonly kind: "unknown"; readonly reason: "budget"; readonly stepsUsed: number }

export interface CheckOptions {
  /** Search steps allowed for the whole check, shrinking included. */
  readonly stepsMax: number
}

/** Operations grouped by key, each group in invocation order; keys in first-seen order. */
export function partitionByKey(history: History): Map<string, Array<Operation>> {
  const byKey = new Map<string, Array<Operation>>()
  for (const operation of history) {
    const group = byKey.get(operation.command.key)
    if (group === undefined) byKey.set(operation.command.key, [operation])
    else group.push(operation)
  }
  for (const group of byKey.values()) group.sort((a, b) => a.invokeTime - b.invokeTime)
  return byKey
}

export function checkHistory(history: History, options: CheckOptions): CheckResult {
  const budget = new StepBudget(options.stepsMax)
  let exhausted = false
  // A read that never returned constrains nothing and only widens the search.
  const relevant = history.filter((operation) => operation.completion !== undefined || operation.command.type !== "get")
  for (const [key, operations] of partitionByKey(relevant)) {
    const result = searchLinearization(operations, null, budget)
    if (result === "budget-exhausted") {
      // Another key may still be proven wrong, but with no steps left none can be searched.
      exhausted = true
      break
    }
    if (result === "not-linearizable") {
      const shrunk = shrinkViolation(operations, budget)
      return { kind: "violation", key, operations: shrunk.operations, minimal: shrunk.minimal, stepsUsed: budget.used }
    }
  }
  if (exhausted) return { kind: "unknown", reason: "budget", stepsUsed: budget.used }
  return { kind: "linearizable", stepsUsed: budget.used }
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
function shrinkViolation(operations: ReadonlyArray<Operation>, budget: StepBudget): ShrunkViolation {
  const originalOf = new Map<Operation, Operation>()
  const fails = (subset: ReadonlyArray<Operation>): boolean | undefined => {
    const result = searchLinearization(subset, null, budget)
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
  if (operation.command.type === "get") return []
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
