export * from "./history.ts"
export * from "./history-format.ts"
export { checkHistory, partitionByKey, type CheckOptions, type CheckResult } from "./linearizability.ts"
