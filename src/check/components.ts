// Splits a history into independent components: operations that share a key, directly or through
// a chain of txns, land in one component (union-find over keys). Linearizability is local
// (Herlihy & Wing), and a txn's keys are all in its own component, so the history is linearizable
// iff every component is (P-compositionality, Horn & Kroening).
import { assert } from "../assert.ts"
import type { History, Operation } from "./history.ts"
import { keysOf } from "./history.ts"

export interface Component {
  /** The component's keys, sorted. */
  readonly keys: ReadonlyArray<string>
  /** The component's operations in invocation order. */
  readonly operations: ReadonlyArray<Operation>
  /** "register": one key, single-key commands only (the fast search); "map": txns involved. */
  readonly model: "register" | "map"
}

class KeyUnion {
  private readonly parentOf = new Map<string, string>()

  find(key: string): string {
    let root = key
    for (;;) {
      const parent = this.parentOf.get(root)
      if (parent === undefined || parent === root) break
      root = parent
    }
    if (!this.parentOf.has(root)) this.parentOf.set(root, root)
    // Path compression: later finds from `key` take one hop.
    for (let walk = key; walk !== root;) {
      const parent = this.parentOf.get(walk)!
      this.parentOf.set(walk, root)
      walk = parent
    }
    return root
  }

  union(a: string, b: string): void {
    const rootA = this.find(a)
    const rootB = this.find(b)
    if (rootA !== rootB) this.parentOf.set(rootB, rootA)
  }
}

/**
 * Components in order of their first operation. An operation without keys (an empty txn) still
 * has a reply to check, so it is a component of its own.
 */
export function partitionHistory(history: History): Array<Component> {
  const union = new KeyUnion()
  for (const operation of history) {
    const keys = keysOf(operation.command)
    for (const key of keys) union.union(keys[0]!, key)
  }
  const byRoot = new Map<string | Operation, { keys: Set<string>; operations: Array<Operation>; hasTxn: boolean }>()
  for (const operation of history) {
    const keys = keysOf(operation.command)
    const root = keys.length === 0 ? operation : union.find(keys[0]!)
    let group = byRoot.get(root)
    if (group === undefined) {
      group = { keys: new Set(), operations: [], hasTxn: false }
      byRoot.set(root, group)
    }
    for (const key of keys) group.keys.add(key)
    group.operations.push(operation)
    if (operation.command.type === "txn") group.hasTxn = true
  }
  return [...byRoot.values()].map(({ keys, operations, hasTxn }) => {
    // Only txns join keys, so a component without one is a single key.
    assert(hasTxn || keys.size === 1, "a component without txns has one key")
    return {
      keys: [...keys].sort(),
      operations: operations.sort((a, b) => a.invokeTime - b.invokeTime),
      model: hasTxn ? "map" : "register",
    }
  })
}
