// What the register search and the map search share: the event list that Wing & Gong's search
// walks, the hash words that keep the memo's keys incremental, and the symmetry reduction for
// identical unanswered commands.
import { assert } from "../assert.ts"
import type { Operation, RegisterValue } from "./history.ts"

export type SearchResult = "linearizable" | "not-linearizable" | "budget-exhausted"

export interface Event {
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

/**
 * The history's call and return events as a doubly linked list: node 0 is the head sentinel and
 * event i is node i + 1. Linearizing an operation unlinks its call and return; backtracking
 * relinks them (Dancing Links: an unlinked node keeps its own pointers).
 */
export class EventList {
  readonly events: ReadonlyArray<Event>
  readonly next: Int32Array
  readonly prev: Int32Array
  /** The node of each operation's return event, or -1 when it has no reply. */
  readonly returnNodeOf: Int32Array

  constructor(operations: ReadonlyArray<Operation>) {
    this.events = orderedEvents(operations)
    const nodeCount = this.events.length + 1
    this.next = new Int32Array(nodeCount)
    this.prev = new Int32Array(nodeCount)
    for (let node = 0; node < nodeCount; node++) {
      this.next[node] = node + 1 < nodeCount ? node + 1 : -1
      this.prev[node] = node - 1
    }
    this.returnNodeOf = new Int32Array(operations.length).fill(-1)
    this.events.forEach((event, index) => {
      if (!event.isCall) this.returnNodeOf[event.operationIndex] = index + 1
    })
  }

  event(node: number): Event {
    return this.events[node - 1]!
  }

  unlink(node: number): void {
    const before = this.prev[node]!
    const after = this.next[node]!
    this.next[before] = after
    if (after !== -1) this.prev[after] = before
  }

  relink(node: number): void {
    const before = this.prev[node]!
    const after = this.next[node]!
    this.next[before] = node
    if (after !== -1) this.prev[after] = node
  }

  /** Takes an operation out of the list (its call at `callNode`); 1 when it had a return event, else 0. */
  linearize(callNode: number): number {
    this.unlink(callNode)
    const returnNode = this.returnNodeOf[this.event(callNode).operationIndex]!
    if (returnNode === -1) return 0
    this.unlink(returnNode)
    return 1
  }

  /** Undoes linearize(callNode), which must be the latest not undone; returns the same count. */
  unlinearize(callNode: number): number {
    const returnNode = this.returnNodeOf[this.event(callNode).operationIndex]!
    if (returnNode !== -1) this.relink(returnNode)
    this.relink(callNode)
    return returnNode === -1 ? 0 : 1
  }
}

/** Deterministic per-operation hash words (Zobrist hashing keeps the set's hash incremental). */
export function zobristWords(count: number): Int32Array {
  const words = new Int32Array(count)
  let state = 0x9e3779b9 | 0
  for (let index = 0; index < count; index++) {
    state = (state + 0x6d2b79f5) | 0
    words[index] = mix32(state)
  }
  return words
}

/** A 32-bit finalizer (from Mulberry32): spreads every input bit over the output. */
export function mix32(input: number): number {
  let mixed = Math.imul(input ^ (input >>> 15), 1 | input)
  mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed
  return mixed ^ (mixed >>> 14)
}

export function hashValue(value: RegisterValue): number {
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
export function earlierUnansweredTwins(operations: ReadonlyArray<Operation>, events: ReadonlyArray<Event>): Int32Array {
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

/**
 * Operations ordered for the search: answered ones first, then unanswered ones, each in the
 * given (invocation) order. OperationBits relies on this to keep its memo copies short.
 */
export function answeredFirst(operations: ReadonlyArray<Operation>): Array<Operation> {
  return [
    ...operations.filter((operation) => operation.completion !== undefined),
    ...operations.filter((operation) => operation.completion === undefined),
  ]
}

const allOnes = 0xffffffff

/**
 * A set of operation indexes as bits; index -1 counts as always in the set. Indexes below
 * `answeredCount` (answered operations, in invocation order) come first, and the unanswered ones
 * start on a fresh word. The search linearizes answered operations roughly in invocation order,
 * so their words are all ones up to a frontier and zero after a short window: the memo keeps
 * only that window plus the unanswered words (for 10,000 operations that is tens of bytes, not
 * 1.25 KB per state).
 */
export class OperationBits {
  private readonly words: Uint32Array
  private readonly answeredCount: number
  private readonly answeredWords: number
  private readonly padding: number
  /** Words below `start` are all ones; the scan for it resumes where it stopped. */
  private start = 0
  /** Answered words from `end` on are zero. */
  private end = 0

  constructor(answeredCount: number, unansweredCount: number) {
    this.answeredCount = answeredCount
    this.answeredWords = Math.ceil(answeredCount / 32)
    this.padding = this.answeredWords * 32 - answeredCount
    this.words = new Uint32Array(this.answeredWords + Math.ceil(unansweredCount / 32))
  }

  private position(operationIndex: number): number {
    return operationIndex < this.answeredCount ? operationIndex : operationIndex + this.padding
  }

  has(operationIndex: number): boolean {
    if (operationIndex === -1) return true
    const position = this.position(operationIndex)
    return (this.words[position >>> 5]! & (1 << (position & 31))) !== 0
  }

  add(operationIndex: number): void {
    const position = this.position(operationIndex)
    const word = position >>> 5
    this.words[word] = this.words[word]! | (1 << (position & 31))
    if (word >= this.answeredWords) return
    if (word >= this.end) this.end = word + 1
    while (this.start < this.answeredWords && this.words[this.start] === allOnes) this.start++
  }

  delete(operationIndex: number): void {
    const position = this.position(operationIndex)
    const word = position >>> 5
    this.words[word] = this.words[word]! & ~(1 << (position & 31))
    if (word >= this.answeredWords) return
    if (word < this.start) this.start = word
    while (this.end > 0 && this.words[this.end - 1] === 0) this.end--
  }

  /** The answered words [start, end) worth keeping: leading all-ones and trailing zero words are implied. */
  private window(): { readonly start: number; readonly end: number } {
    // An all-ones window is empty: start may pass end, and then nothing lies between them.
    return { start: this.start, end: Math.max(this.start, this.end) }
  }

  /** A canonical compact copy: [start, end - start, window words..., unanswered words...]. */
  snapshot(): Uint32Array {
    const { start, end } = this.window()
    const copy = new Uint32Array(2 + (end - start) + (this.words.length - this.answeredWords))
    copy[0] = start
    copy[1] = end - start
    copy.set(this.words.subarray(start, end), 2)
    copy.set(this.words.subarray(this.answeredWords), 2 + end - start)
    return copy
  }

  /** Whether `snapshot` is a snapshot of this very set. */
  matches(snapshot: Uint32Array): boolean {
    const { start, end } = this.window()
    if (snapshot[0] !== start || snapshot[1] !== end - start) return false
    for (let index = start; index < end; index++) if (snapshot[2 + index - start] !== this.words[index]) return false
    const offset = 2 + end - start - this.answeredWords
    for (let index = this.answeredWords; index < this.words.length; index++) {
      if (snapshot[offset + index] !== this.words[index]) return false
    }
    return true
  }
}
