// Tests that need TLC (Java and tla2tools.jar), for the trace validation tests.
import { it } from "vitest"
import { findTlaTools, type TlaTools } from "./TraceValidation.ts"

/**
 * Declares `tests` (vitest's `it`s) when Java and tla2tools.jar are there; otherwise a skipped
 * test on a workstation, and a failing one in CI (env CI set), where they must be installed.
 */
export function testsWithTlaTools(tests: (tools: TlaTools) => void): void {
  const tools = findTlaTools()
  const inCi = !["", "0", "false", undefined].includes(process.env["CI"])
  if (!("missing" in tools)) {
    tests(tools)
  } else if (inCi) {
    it("has Java and tla2tools.jar in CI", () => {
      throw new Error(`trace validation cannot run: ${tools.missing}`)
    })
  } else {
    it.skip(`needs Java and tla2tools.jar (${tools.missing})`, () => {})
  }
}
