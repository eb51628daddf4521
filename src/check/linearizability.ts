// Checks a whole history: linearizability is P-compositional (Herlihy & Wing), so the history is
// linearizable iff each key's sub-history is, and each key is searched on its own. A violation is
// shrunk to a small set of operations that is still not linearizable on its own.
import { StepBudget } from "./budget.ts"
import { observedValue, writtenValue, type History, type Operation } from "./history.ts"
import { searchLinearization } from "./register-search.ts"

export type CheckResult =
  | { readonly kind: "linearizable"; readonly stepsUsed: number }
  | {
      readonly kind: "violation"
      readonly key: string
      /** A non-linearizable subset of the key's operations in which every operation is needed. */
      readonly operations: ReadonlyArray<Operation>
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
  for (const [key, operations] of partitionByKey(history)) {
    const result = searchLinearization(operations, null, budget)
    if (result === "budget-exhausted") {
      // Another key may still be proven wrong, but with no steps left none can be searched.
      exhausted = true
      break
    }
    if (result === "not-linearizable") {
      return { kind: "violation", key, operations: shrinkViolation(operations, budget), stepsUsed: budget.used }
    }
  }
  if (exhausted) return { kind: "unknown", reason: "budget", stepsUsed: budget.used }
  return { kind: "linearizable", stepsUsed: budget.used }
}

/**
 * Linearizability is prefix-closed, so the shortest failing prefix (cut at a return time, with
 * operations still running at the cut treated as unanswered) is found by bisection. Then
 * operations are dropped one at a time while the rest still fails. A writer whose value a
 * remaining operation observed is kept, so the report shows the write a stale read missed rather
 * than a read of a value nobody wrote. Every set returned has been searched and found failing;
 * if the budget runs out, the smallest failing set found so far is returned.
 */
function shrinkViolation(operations: ReadonlyArray<Operation>, budget: StepBudget): ReadonlyArray<Operation> {
  const fails = (subset: ReadonlyArray<Operation>): boolean | undefined => {
    const result = searchLinearization(subset, null, budget)
    return result === "budget-exhausted" ? undefined : result === "not-linearizable"
  }
  const originalOf = new Map<Operation, Operation>()
  let failing = shortestFailingPrefix(operations, fails, originalOf)
  // Giving an operation its real reply only adds constraints, so the originals still fail.
  const originals = (): ReadonlyArray<Operation> => failing.map((operation) => originalOf.get(operation) ?? operation)
  // Passes repeat until none drops anything: dropping a reader can free the writer it observed.
  let dropped = true
  while (dropped) {
    dropped = false
    for (let index = failing.length - 1; index >= 0; index--) {
      const candidate = failing.filter((_, other) => other !== index)
      if (isObservedWriter(failing[index]!, candidate)) continue
      const verdict = fails(candidate)
      if (verdict === undefined) return originals()
      if (verdict) {
        failing = candidate
        dropped = true
      }
    }
  }
  return originals()
}

function isObservedWriter(operation: Operation, others: ReadonlyArray<Operation>): boolean {
  const written = writtenValue(operation.command)
  if (written === undefined) return false
  return others.some((other) => observedValue(other)?.value === written.value)
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
      const unanswered = { clientId: operation.clientId, command: operation.command, invokeTime: operation.invokeTime }
      originalOf.set(unanswered, operation)
      prefix.push(unanswered)
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
