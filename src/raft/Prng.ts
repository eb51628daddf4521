// A small seeded generator (mulberry32). Its whole state is one uint32 kept in the Raft state, so
// runs replay exactly from their seed and the model checker can copy and hash it.

export function nextRandom(state: number): { readonly value: number; readonly state: number } {
  const next = (state + 0x6d2b79f5) >>> 0
  let t = next
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return { value: (t ^ (t >>> 14)) >>> 0, state: next }
}
