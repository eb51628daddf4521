// A seeded random source for generating operation sequences: the Raft core's mulberry32 step
// behind a small mutable interface, so a whole run replays from one printed seed.
import { assert } from "../../src/assert.ts"
import { nextRandom } from "../../src/raft/Prng.ts"

export class Random {
  private state: number

  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), "a seed is an integer")
    this.state = seed >>> 0
  }

  /** An integer in [0, bound). */
  below(bound: number): number {
    assert(Number.isSafeInteger(bound) && bound > 0 && bound <= 2 ** 32, "a positive bound within 32 bits")
    const { value, state } = nextRandom(this.state)
    this.state = state
    return value % bound
  }

  /** An integer in [low, high]. */
  between(low: number, high: number): number {
    assert(low <= high, "a non-empty interval")
    return low + this.below(high - low + 1)
  }

  chance(probability: number): boolean {
    return this.below(1_000_000) < probability * 1_000_000
  }

  pick<T>(choices: ReadonlyArray<T>): T {
    assert(choices.length > 0, "something to pick from")
    return choices[this.below(choices.length)]!
  }

  /** Picks a name with probability proportional to its weight. */
  weighted<Name extends string>(weights: Readonly<Record<Name, number>>): Name {
    const entries = Object.entries(weights) as Array<[Name, number]>
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0)
    let roll = this.below(total)
    for (const [name, weight] of entries) {
      if (roll < weight) return name
      roll -= weight
    }
    throw new Error("unreachable: the roll is below the total weight")
  }
}
