// An ordered map from keys to values: a B+tree, O(log n) to find a key or the start of a range,
// then a walk along the leaves. Keys are the store's key strings (Bytes.ts: one char per byte, so
// the native string order is bytewise order).
//
// Why our own and not a library: the core may import nothing but src/raft and src/assert.ts, and
// the only operations needed are get/set/delete, "visit from key on" and rewriting every value
// (compaction renumbers records). Leaves hold parallel arrays of up to LEAF_SIZE_MAX keys, so the
// per-key cost is two array slots (no node object per key, unlike a skip list or a binary tree),
// which matters for the 100,000-key memory budget. Deletion (only compaction removes keys) drops emptied nodes without
// rebalancing: the height stays bounded by the largest size the map ever had.
import { assert } from "../assert.ts"

const LEAF_SIZE_MAX = 64
const BRANCH_SIZE_MAX = 64

interface Leaf<V> {
  readonly isLeaf: true
  keys: string[]
  values: V[]
}
interface Branch<V> {
  readonly isLeaf: false
  /** keys[i] is the smallest key under children[i]. */
  keys: string[]
  children: Node<V>[]
}
type Node<V> = Leaf<V> | Branch<V>

/**
 * Where an overfull node of `length` entries splits, given that entry `inserted` was just added.
 * In the middle as usual; but an append at the end (ascending loads, the common way keys arrive)
 * leaves the left node full, so that a sequential load packs nodes instead of half-filling them.
 * The halves are fresh exact-size arrays: a truncated array would keep its grown capacity.
 */
function splitPoint(length: number, inserted: number): number {
  return inserted === length - 1 ? length - 1 : length >>> 1
}

/** The first index whose key is >= key (keys.length if none). */
function lowerBound(keys: ReadonlyArray<string>, key: string): number {
  let low = 0
  let high = keys.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (keys[middle]! < key) low = middle + 1
    else high = middle
  }
  return low
}

/** The child of a branch that holds `key` if present: the last child whose smallest key <= key. */
function childIndex(keys: ReadonlyArray<string>, key: string): number {
  let low = 0
  let high = keys.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (keys[middle]! <= key) low = middle + 1
    else high = middle
  }
  return low === 0 ? 0 : low - 1
}

export class OrderedKeyMap<V> {
  private root: Node<V> = { isLeaf: true, keys: [], values: [] }
  private count = 0
  /** What the running `set` replaced. */
  private replaced: V | undefined = undefined

  get size(): number {
    return this.count
  }

  get(key: string): V | undefined {
    let node = this.root
    while (!node.isLeaf) node = node.children[childIndex(node.keys, key)]!
    const i = lowerBound(node.keys, key)
    return i < node.keys.length && node.keys[i] === key ? node.values[i] : undefined
  }

  /** Inserts or replaces; returns the value replaced, if any (one descent for both). */
  set(key: string, value: V): V | undefined {
    this.replaced = undefined
    const split = this.insert(this.root, key, value)
    if (split !== undefined) {
      this.root = { isLeaf: false, keys: [this.root.keys[0]!, split.keys[0]!], children: [this.root, split] }
    }
    const replaced = this.replaced
    this.replaced = undefined
    return replaced
  }

  /** Replaces every value by `change(value)`, in place. */
  updateValues(change: (value: V) => V): void {
    const visit = (node: Node<V>): void => {
      if (node.isLeaf) {
        for (let i = 0; i < node.values.length; i++) node.values[i] = change(node.values[i]!)
      } else {
        for (const child of node.children) visit(child)
      }
    }
    visit(this.root)
  }

  delete(key: string): boolean {
    const removed = this.remove(this.root, key)
    while (!this.root.isLeaf && this.root.children.length === 1) this.root = this.root.children[0]!
    if (!this.root.isLeaf && this.root.children.length === 0) this.root = { isLeaf: true, keys: [], values: [] }
    return removed
  }

  /** Calls `visit` for each entry with key >= start in key order until it returns false. */
  forEachFrom(start: string, visit: (key: string, value: V) => boolean): void {
    this.walk(this.root, start, visit)
  }

  forEach(visit: (key: string, value: V) => boolean): void {
    this.walk(this.root, undefined, visit)
  }

  private walk(node: Node<V>, start: string | undefined, visit: (key: string, value: V) => boolean): boolean {
    if (node.isLeaf) {
      for (let i = start === undefined ? 0 : lowerBound(node.keys, start); i < node.keys.length; i++) {
        if (!visit(node.keys[i]!, node.values[i]!)) return false
      }
      return true
    }
    const first = start === undefined ? 0 : childIndex(node.keys, start)
    for (let i = first; i < node.children.length; i++) {
      if (!this.walk(node.children[i]!, i === first ? start : undefined, visit)) return false
    }
    return true
  }

  /** Returns the new right sibling when `node` had to split. */
  private insert(node: Node<V>, key: string, value: V): Node<V> | undefined {
    if (node.isLeaf) {
      const i = lowerBound(node.keys, key)
      if (i < node.keys.length && node.keys[i] === key) {
        this.replaced = node.values[i]
        node.values[i] = value
        return undefined
      }
      node.keys.splice(i, 0, key)
      node.values.splice(i, 0, value)
      this.count++
      if (node.keys.length <= LEAF_SIZE_MAX) return undefined
      const cut = splitPoint(node.keys.length, i)
      const right: Leaf<V> = { isLeaf: true, keys: node.keys.slice(cut), values: node.values.slice(cut) }
      node.keys = node.keys.slice(0, cut)
      node.values = node.values.slice(0, cut)
      return right
    }
    const i = childIndex(node.keys, key)
    const child = node.children[i]!
    const split = this.insert(child, key, value)
    node.keys[i] = child.keys[0]!
    if (split === undefined) return undefined
    node.keys.splice(i + 1, 0, split.keys[0]!)
    node.children.splice(i + 1, 0, split)
    if (node.children.length <= BRANCH_SIZE_MAX) return undefined
    const cut = splitPoint(node.children.length, i + 1)
    const right: Branch<V> = { isLeaf: false, keys: node.keys.slice(cut), children: node.children.slice(cut) }
    node.keys = node.keys.slice(0, cut)
    node.children = node.children.slice(0, cut)
    return right
  }

  private remove(node: Node<V>, key: string): boolean {
    if (node.isLeaf) {
      const i = lowerBound(node.keys, key)
      if (i >= node.keys.length || node.keys[i] !== key) return false
      node.keys.splice(i, 1)
      node.values.splice(i, 1)
      this.count--
      assert(this.count >= 0, "ordered map size went negative")
      return true
    }
    const i = childIndex(node.keys, key)
    const child = node.children[i]!
    if (!this.remove(child, key)) return false
    if (child.keys.length === 0) {
      node.keys.splice(i, 1)
      node.children.splice(i, 1)
    } else {
      node.keys[i] = child.keys[0]!
    }
    return true
  }
}
