// The same search as register-search.ts (Wing & Gong, Lowe's memoization), over the map model of
// txn-model.ts, for a component whose operations include txns over several keys. The memo key is
// the linearized set plus the whole map (values, and versions when some compare reads them).
import { assert } from "../assert.ts"
import type { StepBudget } from "./budget.ts"
import { keysOf, type Operation, type RegisterValue } from "./history.ts"
import {
  answeredFirst, earlierUnansweredTwins, EventList, OperationBits, zobristWords, type SearchResult,
} from "./search-support.ts"
import { compileCommand, compileOutcome, MapState, type CompiledTxn, type ExpectedReply } from "./txn-model.ts"

interface Visited {
  /** OperationBits.snapshot() */
  readonly linearized: Uint32Array
  readonly values: ReadonlyArray<RegisterValue>
  readonly versions: Int32Array
}

class VisitedSet {
  private readonly buckets = new Map<number, Array<Visited>>()

  /** Adds the pair; false when it was already there. */
  add(hash: number, linearized: OperationBits, state: MapState): boolean {
    const bucket = this.buckets.get(hash)
    if (bucket !== undefined) {
      for (const seen of bucket) {
        if (linearized.matches(seen.linearized) && sameValues(seen.values, state.values) &&
          sameVersions(seen.versions, state.versions)) return false
      }
    }
    const entry = { linearized: linearized.snapshot(), values: state.values.slice(), versions: state.versions.slice() }
    if (bucket === undefined) this.buckets.set(hash, [entry])
    else bucket.push(entry)
    return true
  }
}

function sameValues(a: ReadonlyArray<RegisterValue>, b: ReadonlyArray<RegisterValue>): boolean {
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false
  return true
}

function sameVersions(a: Int32Array, b: Int32Array): boolean {
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false
  return true
}

interface Frame {
  readonly callNode: number
  readonly undoMark: number
}

interface Compiled {
  readonly txns: ReadonlyArray<CompiledTxn>
  readonly replies: ReadonlyArray<ExpectedReply | undefined>
  readonly slotCount: number
  readonly tracksVersions: boolean
}

function compile(operations: ReadonlyArray<Operation>): Compiled {
  const slotOf = new Map<string, number>()
  for (const operation of operations) {
    for (const key of keysOf(operation.command)) if (!slotOf.has(key)) slotOf.set(key, slotOf.size)
  }
  const txns = operations.map((operation) => compileCommand(operation.command, slotOf))
  const replies = operations.map((operation) =>
    operation.completion === undefined ? undefined : compileOutcome(operation.completion.outcome))
  const tracksVersions = txns.some((txn) => txn.compares.some((compare) => compare.target === "version"))
  return { txns, replies, slotCount: slotOf.size, tracksVersions }
}

/** Searches for a linearization of `operations`, starting from the empty map. */
export function searchMapLinearization(given: ReadonlyArray<Operation>, budget: StepBudget): SearchResult {
  const operations = answeredFirst(given)
  const { txns, replies, slotCount, tracksVersions } = compile(operations)
  const list = new EventList(operations)
  const earlierTwin = earlierUnansweredTwins(operations, list.events)
  const zobrist = zobristWords(operations.length)
  const state = new MapState(slotCount, tracksVersions)
  const visited = new VisitedSet()
  const stack: Array<Frame> = []
  let completedLeft = replies.filter((reply) => reply !== undefined).length
  const linearized = new OperationBits(completedLeft, operations.length - completedLeft)
  let setHash = 0
  let node = list.next[0]!

  while (completedLeft > 0) {
    if (!budget.take()) return "budget-exhausted"
    assert(node !== -1, "a completed operation's return event is still in the list")
    const event = list.event(node)
    const operationIndex = event.operationIndex
    if (event.isCall) {
      const reply = replies[operationIndex]
      const undoMark = state.mark()
      const accepted = (reply !== undefined || linearized.has(earlierTwin[operationIndex]!)) &&
        state.applyMatching(txns[operationIndex]!, reply)
      if (accepted) {
        linearized.add(operationIndex)
        const hashAfter = setHash ^ zobrist[operationIndex]!
        if (visited.add((hashAfter ^ state.hash) | 0, linearized, state)) {
          stack.push({ callNode: node, undoMark })
          setHash = hashAfter
          completedLeft -= list.linearize(node)
          node = list.next[0]!
          continue
        }
        linearized.delete(operationIndex)
      }
      state.undoTo(undoMark)
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
    state.undoTo(frame.undoMark)
    node = list.next[frame.callNode]!
  }
  return "linearizable"
}
