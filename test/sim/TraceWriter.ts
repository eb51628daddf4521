// NDJSON traces of simulation runs, for trace validation against spec/Raft.tla. One JSON object
// per line:
//
//   line 1   {"action":"Init","servers":[1,2,3],"initialConfig":C,"preVote":b,"checkQuorum":b,
//             "config":"<simulation name>","scheduleSeed":n,"timerSeed":n,"steps":n,"bugs":[...]}
//   core     {"action":A,"server":i,"message":M?,"params":{...}?,"reply":M?,"state":S}   (one per TraceEvent)
//   network  {"action":"DropMessage","message":M}  {"action":"DuplicateMessage","message":M}
//   crash    {"action":"Restart","server":i,"state":S}
//
// A is a spec action name (src/raft/Trace.ts); "reply" is the answer a Handle*Request action
// sent. The core also emits DropMessage, with a server
// and state, when it ignores a message; the network's DropMessage (a lost message, one cut by a
// partition, or one dropped on purpose) has neither. S holds the spec variables of the server
// after the action: currentTerm, state, votedFor, leaderId, commitIndex, snapshotIndex,
// snapshotTerm, log (the entries after the snapshot) and config.
//
// Encodings: src/raft/TraceJson.ts (shared with a server's --experimental-trace-file).
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import fc from "fast-check"
import type { BugName } from "../../src/raft/Bugs.ts"
import { encodeConfig, encodeCoreEvent, encodeMessage, encodeState, type Json } from "../../src/raft/TraceJson.ts"
import { type Run, runArbitrary, type SimConfig, serverIds, simConfigs } from "./Schedule.ts"
import { type EnvironmentEvent, runSchedule, type SimFailure } from "./Simulate.ts"

// Still exported from here for code that imported them before they moved to src/raft.
export { encodeConfig, encodeCoreEvent, encodeEntry, encodeMessage, encodeState } from "../../src/raft/TraceJson.ts"

export function encodeEnvironmentEvent(event: EnvironmentEvent): Json {
  if (event.action === "Restart") return { action: event.action, server: event.server, state: encodeState(event.state) }
  return { action: event.action, message: encodeMessage(event.message) }
}

/** The run's parameters; `scheduleSeed` is the fast-check seed the schedule was drawn from. */
export function encodeHeader(config: SimConfig, run: Run, scheduleSeed: number): Json {
  const ids = serverIds(config)
  return {
    action: "Init",
    servers: ids,
    initialConfig: encodeConfig({ voters: ids, votersOutgoing: [], learners: [] }),
    preVote: config.preVote,
    checkQuorum: config.checkQuorum,
    config: config.name,
    scheduleSeed,
    timerSeed: run.seed,
    steps: run.schedule.length,
    bugs: [...(config.bugs ?? [])],
  }
}

/** Runs `run` and returns its trace, one JSON text per line, and the failure if any. */
export function traceRun(config: SimConfig, run: Run, scheduleSeed: number): { lines: string[]; failure: SimFailure | undefined } {
  const lines = [JSON.stringify(encodeHeader(config, run, scheduleSeed))]
  const failure = runSchedule(config, run, undefined, {
    core: (event) => lines.push(JSON.stringify(encodeCoreEvent(event))),
    environment: (event) => lines.push(JSON.stringify(encodeEnvironmentEvent(event))),
  })
  return { lines, failure }
}

export interface TraceOptions {
  readonly dir: string
  readonly count: number
  /** Steps in each schedule (exactly). */
  readonly steps: number
  /** Seed of the first trace; trace k uses firstSeed + k. */
  readonly firstSeed?: number
  /** Which simulation configurations to use, in turn; all of them by default. */
  readonly configs?: ReadonlyArray<keyof typeof simConfigs>
  readonly bugs?: ReadonlySet<BugName>
}

export interface TraceSummary {
  readonly file: string
  readonly events: number
  readonly failure: SimFailure | undefined
}

/** Writes `count` traces from consecutive seeds into `dir` (created if missing). */
export function writeTraces(options: TraceOptions): TraceSummary[] {
  mkdirSync(options.dir, { recursive: true })
  const keys = options.configs ?? (Object.keys(simConfigs) as Array<keyof typeof simConfigs>)
  const summaries: TraceSummary[] = []
  for (let k = 0; k < options.count; k++) {
    const seed = (options.firstSeed ?? 1) + k
    const key = keys[k % keys.length]!
    const config: SimConfig = { ...simConfigs[key], ...(options.bugs === undefined ? {} : { bugs: options.bugs }) }
    const [run] = fc.sample(runArbitrary(config, options.steps), { numRuns: 1, seed })
    const { lines, failure } = traceRun(config, run!, seed)
    const file = join(options.dir, `trace-${String(k).padStart(4, "0")}-${key}-seed${seed}.ndjson`)
    writeFileSync(file, lines.join("\n") + "\n")
    summaries.push({ file, events: lines.length - 1, failure })
  }
  return summaries
}
