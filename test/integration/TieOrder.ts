// Where etcd's order is an accident of Go's sort, the comparison looks past it. etcd sorts a Range
// by VERSION, CREATE, MOD or VALUE with sort.Sort, which is not stable: up to 12 elements it is an
// insertion sort (ties keep key order, which the suite does compare), beyond that Go 1.19's
// pdqsort scatters ties in an order that depends on the Go version etcd was built with. For such
// answers both sides get each run of tied keys put in key order, and if the limit cut through the
// last run, only the tied value of its members is kept (which tied keys made the cut is accident too).
import {
  SortTarget,
  type KeyValue,
  type KvCommand,
  type KvResult,
  type RangeRequest,
  type RangeResponse,
  type ResponseOp,
} from "../../src/kv/index.ts"

/** Go's sort.Sort is an insertion sort, hence stable, up to this many elements. */
const stableSortLengthMax = 12

export interface TieNeutral {
  readonly result: KvResult
  /** Whether some Range in the answer had its tie order set aside. */
  readonly neutralised: boolean
}

export function withoutTieOrder(command: KvCommand, result: KvResult): TieNeutral {
  if (command.type === "Range" && result.type === "Range") {
    const response = neutralRange(command.request, result.response)
    return { result: { type: "Range", response: response ?? result.response }, neutralised: response !== undefined }
  }
  if (command.type === "Txn" && result.type === "Txn") {
    const branch = result.response.succeeded ? command.request.success : command.request.failure
    let neutralised = false
    const responses = result.response.responses.map((response, i) => {
      const op = branch[i]
      if (op === undefined) return response
      const neutral = withoutTieOrder(op, response)
      neutralised ||= neutral.neutralised
      return neutral.result as ResponseOp
    })
    return { result: { type: "Txn", response: { ...result.response, responses } }, neutralised }
  }
  return { result, neutralised: false }
}

function neutralRange(request: RangeRequest, response: RangeResponse): RangeResponse | undefined {
  if (request.sortTarget === SortTarget.KEY || response.count <= stableSortLengthMax) return undefined
  const runs = tieRuns(response.kvs, request.sortTarget)
  const kvs: Array<KeyValue | { readonly tiedOn: string }> = []
  for (const [index, run] of runs.entries()) {
    const cut = response.more && index === runs.length - 1
    if (cut) kvs.push(...run.map((kv) => ({ tiedOn: targetOf(kv, request.sortTarget) })))
    else kvs.push(...[...run].sort((a, b) => Buffer.compare(a.key, b.key)))
  }
  return { ...response, kvs: kvs as ReadonlyArray<KeyValue> }
}

function tieRuns(kvs: ReadonlyArray<KeyValue>, target: SortTarget): KeyValue[][] {
  const runs: KeyValue[][] = []
  let previous: string | undefined
  for (const kv of kvs) {
    const value = targetOf(kv, target)
    if (value === previous) runs.at(-1)!.push(kv)
    else runs.push([kv])
    previous = value
  }
  return runs
}

function targetOf(kv: KeyValue, target: SortTarget): string {
  switch (target) {
    case SortTarget.VERSION:
      return String(kv.version)
    case SortTarget.CREATE:
      return String(kv.createRevision)
    case SortTarget.MOD:
      return String(kv.modRevision)
    case SortTarget.VALUE:
      return Buffer.from(kv.value).toString("hex")
    default:
      return Buffer.from(kv.key).toString("hex")
  }
}
