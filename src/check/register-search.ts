// Wing & Gong's search with Lowe's just-in-time linearization and memoization, for the operations
// of one key when every one is a single-key command. Each step either linearizes a minimal
// pending call (one whose invocation precedes every remaining return) or backtracks; (linearized
// set, register value) pairs already explored are not explored again. Operations without a reply
// have no return event: they may be linearized at any point after their call, or never.
import { assert } from "../assert.ts"
import type { StepBudget } from "./budget.ts"
import { nextValue, outcomeMatches, type Operation, type RegisterCommand, type RegisterValue } from "./history.ts"
import {
  answeredFirst, earlierUnansweredTwins, EventList, hashValue, OperationBits, zobristWords, type SearchResult,
} from "./search-support.ts"

export type { SearchResult } from "./search-support.ts"

interface Visited {
  /** OperationBits.snapshot() */
  readonly linearized: Uint32Array
  readonly value: RegisterValue
}

class VisitedSet {
  private readonly buckets = new Map<number, Array<Visited>>()

  /** Adds the pair; false when it was already there. */
  add(hash: number, linearized: OperationBits, value: RegisterValue): boolean {
    const bucket = this.buckets.get(hash)
    if (bucket === undefined) {
      this.buckets.set(hash, [{ linearized: linearized.snapshot(), value }])
      return true
    }
    for (const seen of bucket) {
      if (seen.value === value && linearized.matches(seen.linearized)) return false
    }
    bucket.push({ linearized: linearized.snapshot(), value })
    return true
  }
}

interface Frame {
  readonly callNode: number
  readonly valueBefore: RegisterValue
}

function registerCommand(operation: Operation): RegisterCommand {
  const command = operation.command
  assert(command.type !== "txn", "the register search takes single-key commands only")
  return command
}

/** Searches for a linearization of `operations` (all on one key) starting from `initial`. */
export function searchLinearization(
  given: ReadonlyArray<Operation>,
  initial: RegisterValue,
  budget: StepBudget,
): SearchResult {
  const operations = answeredFirst(given)
  const list = new EventList(operations)
  const commands = operations.map(registerCommand)
  const earlierTwin = earlierUnansweredTwins(operations, list.events)
  const zobrist = zobristWords(operations.length)
  const visited = new VisitedSet()
  const stack: Array<Frame> = []
  let completedLeft = operations.filter((operation) => operation.completion !== undefined).length
  const linearized = new OperationBits(completedLeft, operations.length - completedLeft)
  let value = initial
  let setHash = 0
  let node = list.next[0]!

  while (completedLeft > 0) {
    if (!budget.take()) return "budget-exhausted"
    assert(node !== -1, "a completed operation's return event is still in the list")
    const event = list.event(node)
    const operationIndex = event.operationIndex
    if (event.isCall) {
      const completion = operations[operationIndex]!.completion
      const command = commands[operationIndex]!
      const accepted = completion === undefined
        ? linearized.has(earlierTwin[operationIndex]!)
        : outcomeMatches(value, command, completion.outcome)
      if (accepted) {
        const valueAfter = nextValue(value, command)
        linearized.add(operationIndex)
        const hashAfter = setHash ^ zobrist[operationIndex]!
        if (visited.add((hashAfter ^ hashValue(valueAfter)) | 0, linearized, valueAfter)) {
          stack.push({ callNode: node, valueBefore: value })
          value = valueAfter
          setHash = hashAfter
          completedLeft -= list.linearize(node)
          node = list.next[0]!
          continue
        }
        linearized.delete(operationIndex)
      }
      node = list.next[node]!
      continue
    }
    // A return event: its operation should already have been linearized, so undo the last choice.
    const frame = stack.pop()
    if (frame === undefined) return "not-linearizable"
    const undone = list.event(frame.callNode).operationIndex
    completedLeft += list.unlinearize(frame.callNode)
    linearized.delete(undone)
    setHash ^= zobrist[undone]!
    value = frame.valueBefore
    node = list.next[frame.callNode]!
  }
  return "linearizable"
}
