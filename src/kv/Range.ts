// Range, after etcd 3.4's applierV3backend.Range and storeTxnRead.rangeKeys.
import { SortOrder, SortTarget, type RangeRequest, type RangeResponse } from "./Api.ts"
import { hasBug } from "./Bugs.ts"
import { compareBytes } from "./Bytes.ts"
import { fail, KvErrors } from "./Errors.ts"
import { toKeyValue } from "./KeyValues.ts"
import { valueOf, visibleRecords, type KvStore } from "./Store.ts"

/**
 * Answers a Range as seen by a view whose revision is `viewRevision` (the store's current revision,
 * or the revision a write txn is building). Throws the compacted/future errors.
 */
export function rangeAt(store: KvStore, request: RangeRequest, viewRevision: number): RangeResponse {
  let revision = request.revision
  if (revision > viewRevision) fail(KvErrors.futureRevision)
  if (revision <= 0) revision = viewRevision
  if (revision < store.compactRevision) fail(KvErrors.compacted)

  const records = visibleRecords(store, request.key, request.rangeEnd, revision)
  const count = records.length
  if (request.countOnly || count === 0) {
    return { header: { revision: viewRevision }, kvs: [], more: false, count }
  }
  // etcd fetches limit + 1 (to learn `more`) unless it must filter or sort explicitly first. An
  // implicit sort (target not KEY with order NONE) still works on the limited fetch.
  const filtered = request.minModRevision !== 0 || request.maxModRevision !== 0 ||
    request.minCreateRevision !== 0 || request.maxCreateRevision !== 0
  let fetchLimit = request.sortOrder !== SortOrder.NONE || filtered ? 0 : request.limit
  if (fetchLimit > 0) fetchLimit++
  let selected = fetchLimit > 0 && fetchLimit < count ? records.slice(0, fetchLimit) : records
  if (filtered) selected = selected.filter((record) => passesFilters(store, record, request))
  selected = sortRecords(store, selected, request)
  let more = false
  if (request.limit > 0 && selected.length > request.limit) {
    selected = selected.slice(0, request.limit)
    more = true
  }
  const kvs = selected.map((record) => toKeyValue(store, record, request.keysOnly))
  return {
    header: { revision: viewRevision },
    kvs,
    more,
    count: hasBug(store, "CountAfterLimit") ? kvs.length : count,
  }
}

function passesFilters(store: KvStore, record: number, request: RangeRequest): boolean {
  const modRevision = store.log.main(record)
  const createRevision = store.log.createRevision(record)
  if (request.maxModRevision !== 0 && modRevision > request.maxModRevision) return false
  if (request.minModRevision !== 0 && modRevision < request.minModRevision) return false
  if (request.maxCreateRevision !== 0 && createRevision > request.maxCreateRevision) return false
  if (request.minCreateRevision !== 0 && createRevision < request.minCreateRevision) return false
  return true
}

type RecordOrder = (store: KvStore, a: number, b: number) => number

const orderBy: Record<SortTarget, RecordOrder> = {
  [SortTarget.KEY]: ({ log }, a, b) => (log.key(a) < log.key(b) ? -1 : log.key(a) > log.key(b) ? 1 : 0),
  [SortTarget.VERSION]: ({ log }, a, b) => log.version(a) - log.version(b),
  [SortTarget.CREATE]: ({ log }, a, b) => log.createRevision(a) - log.createRevision(b),
  [SortTarget.MOD]: ({ log }, a, b) => log.main(a) - log.main(b),
  [SortTarget.VALUE]: (store, a, b) => compareBytes(valueOf(store, a), valueOf(store, b)),
}

/**
 * etcd sorts ASCEND when a target other than KEY is named with order NONE; records arrive in key
 * order, so KEY/ASCEND and NONE leave them as they are. Ties keep key order (a stable sort; see
 * the report on Go's sort.Sort for more than 12 results).
 */
function sortRecords(store: KvStore, records: number[], request: RangeRequest): number[] {
  let order: SortOrder = request.sortOrder
  if (request.sortTarget !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND
  if (order === SortOrder.NONE) return records
  const ascending = orderBy[request.sortTarget]
  return records.slice().sort(order === SortOrder.ASCEND
    ? (a, b) => ascending(store, a, b)
    : (a, b) => ascending(store, b, a))
}
