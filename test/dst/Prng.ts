// The simulator's only source of randomness: splitmix32 from one seed. Every random choice of a
// run (delays, faults, client commands, the cores' seeds, request-ID starts, lease IDs) comes
// from here, so a seed names a run exactly. Math.random, clocks and crypto are never used.
import { assert } from "../../src/assert.ts"

export class Prng {
  private state: number

  constructor(seed: number) {
    assert(Number.isSafeInteger(seed) && seed >= 0, "prng: seed must be a non-negative safe integer")
    // Fold the high bits in, so seeds above 2^32 differ from their low halves.
    this.state = (seed ^ Math.floor(seed / 0x100000000) * 0x9e3779b1) >>> 0
  }

  /** A uniform uint32 (splitmix32). */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }

  /** A uniform integer in [0, bound). */
  below(bound: number): number {
    assert(Number.isSafeInteger(bound) && bound > 0 && bound <= 0x100000000, "prng: bad bound")
    return Math.floor((this.nextU32() / 0x100000000) * bound)
  }

  /** A uniform integer in [low, high]. */
  between(low: number, high: number): number {
    assert(low <= high, "prng: empty range")
    return low + this.below(high - low + 1)
  }

  /** True with probability `probability`. */
  chance(probability: number): boolean {
    return this.nextU32() / 0x100000000 < probability
  }

  pick<T>(items: ReadonlyArray<T>): T {
    assert(items.length > 0, "prng: pick from nothing")
    return items[this.below(items.length)]!
  }

  /**
   * An independent stream for one part of the run (network, disk, clients, faults), so that a
   * change in how often one part draws does not shift every other part's choices.
   */
  fork(): Prng {
    return new Prng(this.nextU32())
  }

  /** A 44-bit integer (request-ID starts, lease IDs). */
  nextBig44(): bigint {
    return (BigInt(this.below(0x1000)) << 32n) | BigInt(this.nextU32())
  }
}
