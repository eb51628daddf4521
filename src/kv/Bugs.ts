// The KV bug zoo: deliberate semantic bugs that a test can switch on in one store to show that
// the property tests (and the differential test against etcd) catch them. Each is one
// `hasBug(store, "Name")` test at the place the correct rule lives. Production passes none.
import type { KvStore } from "./Store.ts"

export const KV_BUGS = {
  CountAfterLimit: "Range reports the count of returned keys instead of the count before the limit",
  TxnHeaderAlwaysNext: "a Txn that changes nothing reports the next revision in its header",
  CompactOffByOne: "compaction also drops versions still visible at the compaction revision itself",
} as const

export type KvBugName = keyof typeof KV_BUGS

export const kvBugNames = (): KvBugName[] => Object.keys(KV_BUGS) as KvBugName[]

export function hasBug(store: KvStore, name: KvBugName): boolean {
  return store.config.bugs.size > 0 && store.config.bugs.has(name)
}
