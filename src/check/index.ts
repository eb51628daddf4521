export * from "./history.ts"
export * from "./history-format.ts"
export { partitionHistory, type Component } from "./components.ts"
export { checkedComponents, checkHistory, type CheckOptions, type CheckResult } from "./linearizability.ts"
