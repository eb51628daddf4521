// Runtime assertions that stay on in production (TigerBeetle's habit): a broken invariant stops
// the node before bad state spreads. Hot paths pass constant messages; details are computed only
// in the failure branch.

export class AssertionFailure extends Error {
  override readonly name = "AssertionFailure"
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message)
}

export function assertNever(value: never, what = "value"): never {
  throw new AssertionFailure(`unexpected ${what}: ${String((value as { type?: unknown })?.type ?? value)}`)
}

/** Documents a condition that may go either way; kept so readers see the case was considered. */
export function maybe(_condition: boolean): void {}
