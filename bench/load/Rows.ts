// The rows of the side-by-side table, as issue 5 lists them.
import type { Measurement, Timing } from "./Workloads.ts"
import { casSpec, putSpec, rangeSpec, runClosedLoop, runWatchFanOut } from "./Workloads.ts"
import type { LoadTarget } from "./Servers.ts"

export interface Row {
  /** Short id for --rows filters. */
  readonly id: string
  readonly label: string
  readonly unit: string
  readonly run: (server: LoadTarget, timing: Timing) => Promise<Measurement>
}

/** Connections per row: etcd clients share few connections; one client needs one. */
const CONNECTIONS = 8
const WATCHERS = 1_000

export const rows: ReadonlyArray<Row> = [
  { id: "put1", label: "put, 1 client", unit: "ops/s", run: (s, t) => runClosedLoop(s, putSpec(1, 1), t) },
  { id: "put64", label: "put, 64 clients", unit: "ops/s", run: (s, t) => runClosedLoop(s, putSpec(64, CONNECTIONS), t) },
  { id: "put256", label: "put, 256 clients", unit: "ops/s", run: (s, t) => runClosedLoop(s, putSpec(256, CONNECTIONS), t) },
  { id: "lin64", label: "linearizable range (one key), 64 clients", unit: "ops/s",
    run: (s, t) => runClosedLoop(s, rangeSpec(64, CONNECTIONS, false), t) },
  { id: "lin256", label: "linearizable range (one key), 256 clients", unit: "ops/s",
    run: (s, t) => runClosedLoop(s, rangeSpec(256, CONNECTIONS, false), t) },
  { id: "ser64", label: "serializable range (one key), 64 clients", unit: "ops/s",
    run: (s, t) => runClosedLoop(s, rangeSpec(64, CONNECTIONS, true), t) },
  { id: "ser256", label: "serializable range (one key), 256 clients", unit: "ops/s",
    run: (s, t) => runClosedLoop(s, rangeSpec(256, CONNECTIONS, true), t) },
  { id: "cas64", label: "txn compare-and-swap, 64 clients", unit: "txn/s", run: (s, t) => runClosedLoop(s, casSpec(64, CONNECTIONS), t) },
  { id: "watch", label: `watch fan-out, 1 writer -> ${WATCHERS} watchers`, unit: "events/s",
    run: (s, t) => runWatchFanOut(s, { watchers: WATCHERS, connections: CONNECTIONS }, t) },
]

export const RSS_KEYS = 100_000
