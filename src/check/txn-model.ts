// The sequential model for components with txns: a map key -> {value, version}, etcd's
// semantics. The keys of one component are numbered (slots), and every command is compiled
// to a txn over slots, so the search runs one code path. Writes go to an undo log, so the
// search backtracks without copying the map, and the state's hash is kept incrementally.
import { assert, assertNever } from "../assert.ts"
import type { Command, Compare, CompareOp, Outcome, RegisterValue, TxnRequest } from "./history.ts"
import { hashValue, mix32 } from "./search-support.ts"

export interface CompiledCompare {
  readonly slot: number
  readonly target: "value" | "version"
  readonly op: CompareOp
  readonly value: RegisterValue
  readonly version: number
}

export interface CompiledRequest {
  readonly type: "put" | "get" | "delete"
  readonly slot: number
  readonly value: RegisterValue
}

export interface CompiledTxn {
  readonly compares: ReadonlyArray<CompiledCompare>
  readonly success: ReadonlyArray<CompiledRequest>
  readonly failure: ReadonlyArray<CompiledRequest>
}

/** What a reply says, in the txn's terms: which branch ran and what its gets read. */
export interface ExpectedReply {
  readonly succeeded: boolean
  readonly reads: ReadonlyArray<RegisterValue>
}

export function compileCommand(command: Command, slotOf: ReadonlyMap<string, number>): CompiledTxn {
  const slot = (key: string): number => {
    const found = slotOf.get(key)
    assert(found !== undefined, "every key of a component has a slot")
    return found
  }
  const request = (request: TxnRequest): CompiledRequest =>
    ({ type: request.type, slot: slot(request.key), value: request.type === "put" ? request.value : null })
  const compare = (compare: Compare): CompiledCompare => compare.target === "value"
    ? { slot: slot(compare.key), target: "value", op: compare.op, value: compare.value, version: 0 }
    : { slot: slot(compare.key), target: "version", op: compare.op, value: null, version: compare.version }
  switch (command.type) {
    case "txn":
      return {
        compares: command.compare.map(compare),
        success: command.success.map(request),
        failure: command.failure.map(request),
      }
    case "cas": {
      // Like the register model: VALUE == expected, or CREATE == 0 (absent) when expected is null.
      const expected = compare({ key: command.key, target: "value", op: "=", value: command.expected })
      const write = request({ type: "put", key: command.key, value: command.value })
      return { compares: [expected], success: [write], failure: [] }
    }
    default:
      return { compares: [], success: [request(command)], failure: [] }
  }
}

export function compileOutcome(outcome: Outcome): ExpectedReply {
  switch (outcome.type) {
    case "put":
    case "delete":
      return { succeeded: true, reads: [] }
    case "get":
      return { succeeded: true, reads: [outcome.read] }
    case "cas":
      return { succeeded: outcome.succeeded, reads: [] }
    case "txn":
      return outcome
    default:
      return assertNever(outcome, "outcome")
  }
}

/** Byte order of the UTF-8 encodings (etcd compares bytes), which is code point order. */
export function compareValues(a: string, b: string): number {
  const aPoints = Array.from(a, (char) => char.codePointAt(0)!)
  const bPoints = Array.from(b, (char) => char.codePointAt(0)!)
  for (let index = 0; index < Math.min(aPoints.length, bPoints.length); index++) {
    if (aPoints[index] !== bPoints[index]) return aPoints[index]! - bPoints[index]!
  }
  return aPoints.length - bPoints.length
}

function holds(op: CompareOp, order: number): boolean {
  switch (op) {
    case "=": return order === 0
    case "!=": return order !== 0
    case "<": return order < 0
    case ">": return order > 0
    default: return assertNever(op, "compare op")
  }
}

export class MapState {
  /** Per slot: the value, null when the key is absent. */
  readonly values: Array<RegisterValue>
  /** Per slot: puts since the key was created, 0 when absent; kept only when some compare reads it. */
  readonly versions: Int32Array
  /** XOR of every slot's hash; equal states have equal hashes. */
  hash = 0
  private readonly tracksVersions: boolean
  private readonly undoSlots: Array<number> = []
  private readonly undoValues: Array<RegisterValue> = []
  private readonly undoVersions: Array<number> = []

  constructor(slotCount: number, tracksVersions: boolean) {
    this.values = new Array<RegisterValue>(slotCount).fill(null)
    this.versions = new Int32Array(slotCount)
    this.tracksVersions = tracksVersions
    for (let slot = 0; slot < slotCount; slot++) this.hash ^= this.slotHash(slot)
  }

  private slotHash(slot: number): number {
    const valueHash = hashValue(this.values[slot]!) + Math.imul(slot + 1, 0x9e3779b1)
    return mix32(valueHash ^ Math.imul(this.versions[slot]!, 0x85ebca6b))
  }

  /** A point to come back to with undoTo. */
  mark(): number {
    return this.undoSlots.length
  }

  undoTo(mark: number): void {
    assert(mark <= this.undoSlots.length, "an undo mark is never past the log's end")
    while (this.undoSlots.length > mark) {
      const slot = this.undoSlots.pop()!
      this.hash ^= this.slotHash(slot)
      this.values[slot] = this.undoValues.pop()!
      this.versions[slot] = this.undoVersions.pop()!
      this.hash ^= this.slotHash(slot)
    }
  }

  private write(slot: number, value: RegisterValue): void {
    this.undoSlots.push(slot)
    this.undoValues.push(this.values[slot]!)
    this.undoVersions.push(this.versions[slot]!)
    this.hash ^= this.slotHash(slot)
    const created = this.values[slot] === null
    this.values[slot] = value
    if (value === null) this.versions[slot] = 0
    else if (this.tracksVersions) this.versions[slot] = created ? 1 : this.versions[slot]! + 1
    this.hash ^= this.slotHash(slot)
  }

  private compareHolds(compare: CompiledCompare): boolean {
    const current = this.values[compare.slot]!
    if (compare.target === "version") return holds(compare.op, this.versions[compare.slot]! - compare.version)
    if (compare.value === null) return holds(compare.op, current === null ? 0 : 1)
    if (current === null) return false
    if (compare.op === "=" || compare.op === "!=") return holds(compare.op, current === compare.value ? 0 : 1)
    return holds(compare.op, compareValues(current, compare.value))
  }

  /**
   * Runs `txn`. With a reply, stops at the first disagreement and returns false; the caller
   * undoes to its mark either way when it does not keep the step.
   */
  applyMatching(txn: CompiledTxn, reply: ExpectedReply | undefined): boolean {
    const succeeded = txn.compares.every((compare) => this.compareHolds(compare))
    if (reply !== undefined && reply.succeeded !== succeeded) return false
    let readIndex = 0
    for (const request of succeeded ? txn.success : txn.failure) {
      if (request.type === "get") {
        if (reply !== undefined && reply.reads[readIndex] !== this.values[request.slot]) return false
        readIndex += 1
      } else {
        this.write(request.slot, request.type === "put" ? request.value : null)
      }
    }
    return true
  }
}
