// Wing & Gong's search with Lowe's just-in-time linearization and memoization, for the operations
// of one key. Each step either linearizes a minimal pending call (one whose invocation precedes
// every remaining return) or backtracks; (linearized set, register value) pairs already explored
// are not explored again. Operations without a reply have no return event: they may be linearized
// at any point after their call, or never.
import { assert } from "../assert.ts"
import type { StepBudget } from "./budget.ts"
import { nextValue, outcomeMatches, type Operation, type RegisterValue } from "./history.ts"

export type SearchResult = "linearizable" | "not-linearizable" | "budget-exhausted"

interface Event {
  readonly operationIndex: number
  readonly isCall: boolean
  readonly time: number
}

/** Events ordered by time; at equal times calls come first, so touching intervals count as concurrent. */
function orderedEvents(operations: ReadonlyArray<Operation>): Array<Event> {
  const events: Array<Event> = []
  operations.forEach((operation, operationIndex) => {
    events.push({ operationIndex, isCall: true, time: operation.invokeTime })
    const completion = operation.completion
    if (completion !== undefined) {
      assert(completion.returnTime >= operation.invokeTime, "an operation returns after its call")
      events.push({ operationIndex, isCall: false, time: completion.returnTime })
    }
  })
  return events.sort((a, b) =>
    a.time !== b.time ? a.time - b.time
    : a.isCall !== b.isCall ? (a.isCall ? -1 : 1)
    : a.operationIndex - b.operationIndex)
}

/** Deterministic per-operation hash words (Zobrist hashing keeps the set's hash incremental). */
function zobristWords(count: number): Int32Array {
  const words = new Int32Array(count)
  let state = 0x9e3779b9 | 0
  for (let index = 0; index < count; index++) {
    state = (state + 0x6d2b79f5) | 0
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state)
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed
    words[index] = mixed ^ (mixed >>> 14)
  }
  return words
}

function hashValue(value: RegisterValue): number {
  if (value === null) return 0x5bd1e995
  let hash = 0x811c9dc5 | 0
  for (let index = 0; index < value.length; index++) hash = Math.imul(hash ^ value.charCodeAt(index), 0x01000193)
  return hash
}

/**
 * For each unanswered operation, the previous unanswered operation with the same command (by call
 * order), or -1. Such twins are interchangeable except that the earlier one is available sooner,
 * so the search only linearizes a twin once every earlier twin is linearized: a symmetry
 * reduction that keeps many lost identical writes from multiplying the states.
 */
function earlierUnansweredTwins(operations: ReadonlyArray<Operation>, events: ReadonlyArray<Event>): Int32Array {
  const twins = new Int32Array(operations.length).fill(-1)
  const latestByCommand = new Map<string, number>()
  for (const event of events) {
    const operation = operations[event.operationIndex]!
    if (!event.isCall || operation.completion !== undefined) continue
    const command = JSON.stringify(operation.command)
    twins[event.operationIndex] = latestByCommand.get(command) ?? -1
    latestByCommand.set(command, event.operationIndex)
  }
  return twins
}

function isLinearized(linearized: Uint32Array, operationIndex: number): boolean {
  return operationIndex === -1 || (linearized[operationIndex >>> 5]! & (1 << (operationIndex & 31))) !== 0
}

interface Visited {
  readonly linearized: Uint32Array
  readonly value: RegisterValue
}

class VisitedSet {
  private readonly buckets = new Map<number, Array<Visited>>()

  /** Adds the pair; false when it was already there. */
  add(hash: number, linearized: Uint32Array, value: RegisterValue): boolean {
    const bucket = this.buckets.get(hash)
    if (bucket === undefined) {
      this.buckets.set(hash, [{ linearized: linearized.slice(), value }])
      return true
    }
    for (const seen of bucket) {
      if (seen.value === value && sameBits(seen.linearized, linearized)) return false
    }
    bucket.push({ linearized: linearized.slice(), value })
    return true
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false
  return true
}

interface Frame {
  readonly callNode: number
  readonly valueBefore: RegisterValue
}

/** Searches for a linearization of `operations` (all on one key) starting from `initial`. */
export function searchLinearization(
  operations: ReadonlyArray<Operation>,
  initial: RegisterValue,
  budget: StepBudget,
): SearchResult {
  const events = orderedEvents(operations)
  // A doubly linked list over the events; node 0 is the head sentinel, event i is node i + 1.
  const nodeCount = events.length + 1
  const next = new Int32Array(nodeCount)
  const prev = new Int32Array(nodeCount)
  for (let node = 0; node < nodeCount; node++) {
    next[node] = node + 1 < nodeCount ? node + 1 : -1
    prev[node] = node - 1
  }
  const returnNodeOf = new Int32Array(operations.length).fill(-1)
  events.forEach((event, index) => {
    if (!event.isCall) returnNodeOf[event.operationIndex] = index + 1
  })
  const unlink = (node: number): void => {
    const before = prev[node]!
    const after = next[node]!
    next[before] = after
    if (after !== -1) prev[after] = before
  }
  const relink = (node: number): void => {
    const before = prev[node]!
    const after = next[node]!
    next[before] = node
    if (after !== -1) prev[after] = node
  }

  const earlierTwin = earlierUnansweredTwins(operations, events)
  const zobrist = zobristWords(operations.length)
  const linearized = new Uint32Array(Math.ceil(operations.length / 32))
  const visited = new VisitedSet()
  const stack: Array<Frame> = []
  let completedLeft = operations.filter((operation) => operation.completion !== undefined).length
  let value = initial
  let setHash = 0
  let node = next[0]!

  while (completedLeft > 0) {
    if (!budget.take()) return "budget-exhausted"
    assert(node !== -1, "a completed operation's return event is still in the list")
    const event = events[node - 1]!
    const operationIndex = event.operationIndex
    if (event.isCall) {
      const operation = operations[operationIndex]!
      const completion = operation.completion
      const accepted = completion === undefined
        ? isLinearized(linearized, earlierTwin[operationIndex]!)
        : outcomeMatches(value, operation.command, completion.outcome)
      if (accepted) {
        const valueAfter = nextValue(value, operation.command)
        const word = operationIndex >>> 5
        const bit = 1 << (operationIndex & 31)
        linearized[word] = linearized[word]! | bit
        const hashAfter = setHash ^ zobrist[operationIndex]!
        if (visited.add((hashAfter ^ hashValue(valueAfter)) | 0, linearized, valueAfter)) {
          stack.push({ callNode: node, valueBefore: value })
          value = valueAfter
          setHash = hashAfter
          unlink(node)
          const returnNode = returnNodeOf[operationIndex]!
          if (returnNode !== -1) {
            unlink(returnNode)
            completedLeft -= 1
          }
          node = next[0]!
          continue
        }
        linearized[word] = linearized[word]! & ~bit
      }
      node = next[node]!
      continue
    }
    // A return event: its operation should already have been linearized, so undo the last choice.
    const frame = stack.pop()
    if (frame === undefined) return "not-linearizable"
    const undone = events[frame.callNode - 1]!.operationIndex
    const returnNode = returnNodeOf[undone]!
    if (returnNode !== -1) {
      relink(returnNode)
      completedLeft += 1
    }
    relink(frame.callNode)
    linearized[undone >>> 5] = linearized[undone >>> 5]! & ~(1 << (undone & 31))
    setHash ^= zobrist[undone]!
    value = frame.valueBefore
    node = next[frame.callNode]!
  }
  return "linearizable"
}
