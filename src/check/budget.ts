// A step budget shared by every search of one check: no clock inside, so runs are reproducible.
import { assert } from "../assert.ts"

export class StepBudget {
  private stepsLeft: number
  private stepsUsed = 0

  constructor(stepsMax: number) {
    assert(Number.isInteger(stepsMax) && stepsMax >= 0, "step budget must be a non-negative integer")
    this.stepsLeft = stepsMax
  }

  /** Takes one step; false once the budget is spent. */
  take(): boolean {
    if (this.stepsLeft === 0) return false
    this.stepsLeft -= 1
    this.stepsUsed += 1
    return true
  }

  get used(): number {
    return this.stepsUsed
  }
}
