// A state of the model: the cluster (servers, network, read records) and the budgets spent.
import type { ClusterState } from "./Cluster.ts"

/** Steps of bounded kinds taken so far in a behaviour. */
export interface Spent {
  readonly proposals: number
  readonly reads: number
  readonly restarts: number
  readonly duplicates: number
  readonly transfers: number
  readonly compactions: number
  readonly confChanges: number
}

export const noneSpent: Spent = {
  proposals: 0, reads: 0, restarts: 0, duplicates: 0, transfers: 0, compactions: 0, confChanges: 0,
}

export interface ModelState {
  readonly cluster: ClusterState
  readonly spent: Spent
}
