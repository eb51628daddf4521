// Reconnect delays: exponential from `initialMs`, capped at `maxMs`, with "equal jitter" (a random
// point in the upper half), so peers that lost a node at the same moment do not redial in step.
import { assert } from "../../assert.ts"

export function reconnectDelayMs(
  attempt: number, initialMs: number, maxMs: number, random: () => number,
): number {
  assert(Number.isSafeInteger(attempt) && attempt >= 0, "reconnectDelayMs: bad attempt number")
  assert(initialMs > 0 && initialMs <= maxMs, "reconnectDelayMs: need 0 < initialMs <= maxMs")
  const ceilingMs = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
  return ceilingMs / 2 + random() * (ceilingMs / 2)
}
