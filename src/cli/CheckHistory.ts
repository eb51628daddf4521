// `verikv check-history FILE`: reads an NDJSON client history (src/check/history-format.ts),
// checks it for linearizability and prints a summary. The exit code is the verdict, for scripts:
// 0 linearizable, 1 violation, 2 unknown (the step budget ran out), 3 unreadable input.
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Runtime from "effect/Runtime"
import {
  checkHistory, describeOperation, formatOperation, HistoryFormatError, parseHistory, type CheckResult, type History,
} from "../check/index.ts"

/** Search steps allowed by default: the memo keeps a short copy of each state, about 200 bytes a step with txns. */
export const defaultStepsMax = 10_000_000

const exitCodeOf = { linearizable: 0, violation: 1, unknown: 2 } as const
const unreadableExitCode = 3

/** Ends the command with the verdict's exit code; runMain reads the code and logs nothing. */
export class CheckHistoryExit extends Data.TaggedError("CheckHistoryExit")<{ readonly code: number }> {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }

  override get [Runtime.errorReported](): boolean {
    return false
  }
}

export interface CheckReport {
  readonly file: string
  readonly operations: number
  readonly unanswered: number
  readonly stepsMax: number
  readonly elapsedMs: number
  readonly result: CheckResult
}

const showKeys = (keys: ReadonlyArray<string>): string =>
  keys.length === 0 ? "(no keys)" : keys.map((key) => JSON.stringify(key)).join(", ")

/** The summary for people: counts first, then the verdict and what shows it. */
export function formatReport(report: CheckReport): string {
  const { result } = report
  const lines = [
    `history: ${report.file}`,
    `operations: ${report.operations} (${report.unanswered} without a reply)`,
    `components: ${result.components} (independent key groups, checked separately)`,
    `steps: ${result.stepsUsed} of ${report.stepsMax}`,
    `time: ${Math.round(report.elapsedMs)} ms`,
  ]
  switch (result.kind) {
    case "linearizable":
      lines.push("verdict: linearizable")
      break
    case "unknown":
      lines.push(
        "verdict: unknown (the step budget ran out; nothing was proven either way)",
        `component: keys ${showKeys(result.keys)}`,
        "hint: rerun with a larger --budget",
      )
      break
    case "violation":
      lines.push(
        "verdict: NOT linearizable",
        `component: keys ${showKeys(result.keys)}`,
        result.minimal
          ? `minimal offending operations (${result.operations.length}; ` +
            "leave out any one and the rest can be linearized):"
          : `offending operations (${result.operations.length}; not minimal, the budget ran out while shrinking):`,
        ...result.operations.map((operation) => `  ${describeOperation(operation)}`),
        "(the component's other operations stay in the check as if unanswered: they may or may not have taken effect)",
      )
      break
  }
  return lines.join("\n")
}

/** The same facts for machines; offending operations in the input format, so they can be checked again. */
export function formatReportJson(report: CheckReport): string {
  const { result, ...counts } = report
  const offending = result.kind === "violation"
    ? {
      minimal: result.minimal,
      offending: result.operations.map((operation) => JSON.parse(formatOperation(operation)) as unknown),
    }
    : {}
  const keys = result.kind === "linearizable" ? {} : { keys: result.keys }
  return JSON.stringify({
    verdict: result.kind, ...counts, elapsedMs: Math.round(report.elapsedMs), components: result.components,
    stepsUsed: result.stepsUsed, ...keys, ...offending,
  })
}

const parsed = (file: string, text: string): Effect.Effect<History, CheckHistoryExit> =>
  Effect.try({
    try: () => parseHistory(text),
    catch: (error) => error,
  }).pipe(Effect.catch((error) =>
    error instanceof HistoryFormatError
      ? Console.error(`verikv check-history: ${file}: line ${error.lineNumber}: ${error.reason}`).pipe(
        Effect.andThen(Effect.fail(new CheckHistoryExit({ code: unreadableExitCode }))))
      : Effect.die(error)))

export const checkHistoryCommand = Command.make("check-history", {
  file: Argument.String("file").pipe(
    Argument.withDescription("NDJSON history, one operation per line (see README: Checking a history)."),
  ),
  budget: Flag.Int("budget").pipe(
    Flag.withDescription("Search steps allowed, shrinking included; when they run out the verdict is unknown."),
    Flag.withDefault(defaultStepsMax),
  ),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("Print the summary as one JSON object."),
    Flag.withDefault(false),
  ),
}, ({ file, budget, json }) =>
  Effect.gen(function* () {
    if (!Number.isSafeInteger(budget) || budget < 0) {
      yield* Console.error(`verikv check-history: --budget must be a non-negative integer (got ${budget})`)
      return yield* new CheckHistoryExit({ code: unreadableExitCode })
    }
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(Effect.catch((error) =>
      Console.error(`verikv check-history: cannot read ${file}: ${error.message}`).pipe(
        Effect.andThen(Effect.fail(new CheckHistoryExit({ code: unreadableExitCode }))))))
    const history = yield* parsed(file, text)
    const startedMs = performance.now()
    const result = checkHistory(history, { stepsMax: budget })
    const report: CheckReport = {
      file,
      operations: history.length,
      unanswered: history.filter((operation) => operation.completion === undefined).length,
      stepsMax: budget,
      elapsedMs: performance.now() - startedMs,
      result,
    }
    yield* Console.log(json ? formatReportJson(report) : formatReport(report))
    const code = exitCodeOf[result.kind]
    if (code !== 0) return yield* new CheckHistoryExit({ code })
  }))
