// The differential run: each generated step goes to real etcd over gRPC and to the KV core, and
// the two answers are compared field by field. The first difference stops the run and comes back
// as a Mismatch with everything needed to read and replay it (seed, sequence, step, both answers).
import type {
  KvCommand,
  KvResult,
  LeaseId,
  LeaseLeasesResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  HashKvResult,
  KvError,
} from "../../src/kv/index.ts"
import { NoLease, rangeRequest } from "../../src/kv/index.ts"
import { assert } from "../../src/assert.ts"
import type { CallOutcome, EtcdClient } from "../support/EtcdClient.ts"
import {
  kvResultOfWire,
  leasesResponseOf,
  timeToLiveResponseOf,
  wireCallOf,
  wireHashKvCall,
  wireLeasesCall,
  hashKvResponseOf,
  wireTimeToLiveCall,
  type WireCall,
} from "./EtcdWire.ts"
import { describeValue, fieldDifferences, type FieldDifference } from "./FieldDiff.ts"
import { SequenceGenerator, type Step } from "./OpGenerator.ts"
import { Random } from "./Random.ts"
import { withoutTieOrder } from "./TieOrder.ts"

/** What the suite drives: the core, or a deliberately broken wrapper around it. */
export interface KvUnderTest {
  readonly apply: (command: KvCommand) => KvResult
  readonly leaseTimeToLive: (
    request: LeaseTimeToLiveRequest,
    remainingSeconds: (id: LeaseId) => number,
  ) => LeaseTimeToLiveResponse
  readonly leaseLeases: () => LeaseLeasesResponse
  readonly hashKV: (revision: number) => { readonly type: "HashKV"; readonly response: HashKvResult } | { readonly type: "Error"; readonly error: KvError }
}

export interface DifferentialOptions {
  readonly seed: number
  readonly sequences: number
  readonly stepsPerSequence: number
  readonly etcd: EtcdClient
  readonly core: KvUnderTest
  /** The end of etcd's log, for the message when etcd stops answering. */
  readonly etcdLogTail?: () => string
}

export interface Mismatch {
  readonly sequenceIndex: number
  readonly stepIndex: number
  readonly runStepIndex: number
  readonly step: string
  readonly etcd: string
  readonly core: string
  readonly differences: ReadonlyArray<FieldDifference>
}

export interface DifferentialReport {
  readonly seed: number
  readonly stepsCompared: number
  /** How often each kind of step and outcome occurred ("Txn succeeded", "error: etcdserver: ..."). */
  readonly outcomes: ReadonlyMap<string, number>
  readonly mismatch: Mismatch | undefined
}

/** etcd's remaining TTL and ours are read a few milliseconds apart and rounded down to seconds. */
const remainingTtlToleranceSeconds = 2

export async function runDifferential(options: DifferentialOptions): Promise<DifferentialReport> {
  const random = new Random(options.seed)
  const leaseClock = new LeaseGrantClock()
  const outcomes = new Map<string, number>()
  let stepsCompared = 0
  let currentRevision = 1
  let compactRevision = -1
  for (let sequenceIndex = 0; sequenceIndex < options.sequences; sequenceIndex++) {
    const generator = new SequenceGenerator({ random, sequenceIndex, startRevision: currentRevision, compactRevision })
    const runStep = async (step: Step, stepIndex: number): Promise<Mismatch | undefined> => {
      const compared = await compareStep(step, options, leaseClock, sequenceIndex)
      stepsCompared++
      count(outcomes, compared.outcome)
      generator.observe(step, compared.etcdResult)
      if (compared.etcdResult !== undefined && compared.etcdResult.type !== "Error") {
        currentRevision = compared.etcdResult.response.header.revision
      }
      if (compared.differences.length === 0) return undefined
      return {
        sequenceIndex,
        stepIndex,
        runStepIndex: stepsCompared - 1,
        step: describeStep(step),
        etcd: describeValue(compared.etcdAnswer),
        core: describeValue(compared.coreAnswer),
        differences: compared.differences,
      }
    }
    for (let stepIndex = 0; stepIndex < options.stepsPerSequence; stepIndex++) {
      const mismatch = await runStep(generator.next(), stepIndex)
      if (mismatch !== undefined) return { seed: options.seed, stepsCompared, outcomes, mismatch }
    }
    const closing = generator.closingSteps()
    for (const [offset, step] of closing.entries()) {
      const mismatch = await runStep(step, options.stepsPerSequence + offset)
      if (mismatch !== undefined) return { seed: options.seed, stepsCompared, outcomes, mismatch }
    }
    compactRevision = generator.compactedRevision
  }
  return { seed: options.seed, stepsCompared, outcomes, mismatch: undefined }
}

interface ComparedStep {
  readonly etcdResult: KvResult | undefined
  readonly etcdAnswer: unknown
  readonly coreAnswer: unknown
  readonly differences: ReadonlyArray<FieldDifference>
  readonly outcome: string
}

async function compareStep(
  step: Step,
  options: DifferentialOptions,
  leaseClock: LeaseGrantClock,
  sequenceIndex: number,
): Promise<ComparedStep> {
  switch (step.type) {
    case "Command": {
      const outcome = await callEtcd(options, wireCallOf(step.command))
      const etcdResult = kvResultOfWire(step.command, outcome)
      const coreResult = coreAnswerOf(() => options.core.apply(coreCommandOf(step.command, etcdResult, sequenceIndex)))
      if (etcdResult.type === "LeaseGrant") leaseClock.granted(etcdResult.response.id, etcdResult.response.ttl)
      const etcdNeutral = withoutTieOrder(step.command, etcdResult)
      const coreNeutral = "thrown" in coreResult ? coreResult : withoutTieOrder(step.command, coreResult).result
      return {
        etcdResult,
        etcdAnswer: etcdResult,
        coreAnswer: coreResult,
        differences: fieldDifferences(etcdNeutral.result, coreNeutral),
        outcome: outcomeOf(step.command.type, etcdResult) + (etcdNeutral.neutralised ? " (tie order set aside)" : ""),
      }
    }
    case "LeaseTimeToLive": {
      const outcome = await callEtcd(options, wireTimeToLiveCall(step.request))
      const etcdAnswer = outcome.ok ? sortedKeys(timeToLiveResponseOf(outcome.response)) : errorOf(outcome)
      const coreAnswer = coreAnswerOf(() =>
        sortedKeys(options.core.leaseTimeToLive(step.request, (id) => leaseClock.remainingSeconds(id))),
      )
      const comparable = "ttl" in etcdAnswer && "ttl" in coreAnswer ? withinTolerance(etcdAnswer, coreAnswer) : coreAnswer
      return {
        etcdResult: undefined,
        etcdAnswer,
        coreAnswer,
        differences: fieldDifferences(etcdAnswer, comparable),
        outcome: "ttl" in etcdAnswer ? `LeaseTimeToLive ${etcdAnswer.ttl < 0 ? "unknown" : "live"}` : "LeaseTimeToLive error",
      }
    }
    case "LeaseLeases": {
      const outcome = await callEtcd(options, wireLeasesCall)
      const etcdAnswer = outcome.ok ? sortedLeases(leasesResponseOf(outcome.response)) : errorOf(outcome)
      const coreAnswer = coreAnswerOf(() => sortedLeases(options.core.leaseLeases()))
      return {
        etcdResult: undefined,
        etcdAnswer,
        coreAnswer,
        differences: fieldDifferences(etcdAnswer, coreAnswer),
        outcome: "LeaseLeases",
      }
    }
    case "HashKV": {
      const outcome = await callEtcd(options, wireHashKvCall(step.revision))
      const etcdAnswer = outcome.ok ? { type: "HashKV", response: hashKvResponseOf(outcome.response) } : errorOf(outcome)
      const coreAnswer = coreAnswerOf(() => options.core.hashKV(step.revision))
      const racy = etcdAnswer.type === "HashKV" && (await hashRacesCompaction(options, etcdAnswer.response, step.revision))
      return {
        etcdResult: undefined,
        etcdAnswer,
        coreAnswer,
        differences: fieldDifferences(racy ? withoutHash(etcdAnswer) : etcdAnswer, racy ? withoutHash(coreAnswer) : coreAnswer),
        outcome: !outcome.ok ? `HashKV error: ${outcome.message}` : racy ? "HashKV with no live key after a compaction (hash set aside)" : "HashKV",
      }
    }
  }
}

/**
 * The command as the core receives it. A grant that lets the server choose the ID carries, in
 * verikv, the ID the proposing leader chose; here that is the ID etcd chose. If etcd refused the
 * grant, the core gets an ID no other grant in the run uses, so only the TTL decides its answer.
 */
function coreCommandOf(command: KvCommand, etcdResult: KvResult, sequenceIndex: number): KvCommand {
  if (command.type !== "LeaseGrant" || command.request.id !== NoLease) return command
  const id = etcdResult.type === "LeaseGrant" ? etcdResult.response.id : BigInt(sequenceIndex + 1) * 1000n + 999n
  return { type: "LeaseGrant", request: { ...command.request, id } }
}

async function callEtcd(options: DifferentialOptions, call: WireCall): Promise<CallOutcome> {
  const outcome = await options.etcd.call(call.service, call.method, call.request)
  // etcd's own refusals all start with "etcdserver: "; anything else is the harness failing
  // (deadline, lost connection), not an answer to compare.
  if (!outcome.ok && !outcome.message.startsWith("etcdserver: ")) {
    throw new Error(
      `etcd ${call.service}.${call.method} failed outside the API (code ${outcome.code}): ${outcome.message}\n` +
        `request: ${describeValue(call.request)}\netcd's log ends with:\n${options.etcdLogTail?.() ?? "(not available)"}`,
    )
  }
  return outcome
}

/**
 * Whether etcd's hash depends on timing here. etcd skips revisions at or below the compaction
 * that the compaction will delete, by the set of revisions it keeps; when no key is live at the
 * hashed revision that set is empty and etcd skips nothing, so its hash then covers whatever its
 * background compaction has not yet deleted (etcd 3.4 store.HashByRev). Asks etcd whether any key
 * is live at that revision.
 */
async function hashRacesCompaction(options: DifferentialOptions, hashed: HashKvResult, revision: number): Promise<boolean> {
  if (hashed.compactRevision < 1) return false
  const everyKey = rangeRequest({
    key: new Uint8Array([0]),
    rangeEnd: new Uint8Array([0]),
    revision,
    countOnly: true,
  })
  const command = { type: "Range", request: everyKey } as const
  const live = kvResultOfWire(command, await callEtcd(options, wireCallOf(command)))
  assert(live.type === "Range", "counting the live keys at a hashed revision succeeds")
  return live.response.count === 0
}

function withoutHash(answer: object): object {
  return "response" in answer && typeof answer.response === "object" && answer.response !== null
    ? { ...answer, response: { ...answer.response, hash: "(set aside)" } }
    : answer
}

/** A core that throws (a failed assertion) answers with the exception, which differs from any etcd answer. */
function coreAnswerOf<T>(answer: () => T): T | { readonly thrown: string } {
  try {
    return answer()
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`).split("\n").slice(0, 4).join(" / ") : String(error)
    return { thrown: text }
  }
}

function errorOf(outcome: Extract<CallOutcome, { ok: false }>): KvResult {
  return { type: "Error", error: { code: outcome.code, message: outcome.message } }
}

/** etcd lists a lease's keys and the leases from Go maps, in no particular order. */
function sortedKeys(response: LeaseTimeToLiveResponse): LeaseTimeToLiveResponse {
  return { ...response, keys: [...response.keys].sort(compareBytesForSort) }
}

function sortedLeases(response: LeaseLeasesResponse): LeaseLeasesResponse {
  return { ...response, leases: [...response.leases].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) }
}

function compareBytesForSort(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

/** The core's answer with its remaining TTL replaced by etcd's when the two agree within the tolerance. */
function withinTolerance(etcd: LeaseTimeToLiveResponse, core: LeaseTimeToLiveResponse): LeaseTimeToLiveResponse {
  const bothLive = etcd.ttl >= 0 && core.ttl >= 0
  const close = Math.abs(etcd.ttl - core.ttl) <= remainingTtlToleranceSeconds
  return bothLive && close ? { ...core, ttl: etcd.ttl } : core
}

/** The suite's stand-in for the leader's lease clock: when each lease was granted, by our clock. */
class LeaseGrantClock {
  private readonly grants = new Map<LeaseId, { readonly atMs: number; readonly ttlSeconds: number }>()

  granted(id: LeaseId, ttlSeconds: number): void {
    this.grants.set(id, { atMs: performance.now(), ttlSeconds })
  }

  remainingSeconds(id: LeaseId): number {
    const grant = this.grants.get(id)
    if (grant === undefined) return -1
    const elapsedSeconds = (performance.now() - grant.atMs) / 1000
    return Math.max(0, Math.floor(grant.ttlSeconds - elapsedSeconds))
  }
}

function outcomeOf(type: KvCommand["type"], result: KvResult): string {
  if (result.type === "Error") return `${type} error: ${result.error.message}`
  if (result.type === "Txn") return `Txn ${result.response.succeeded ? "succeeded" : "failed"}`
  return type
}

function count(outcomes: Map<string, number>, outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
}

function describeStep(step: Step): string {
  switch (step.type) {
    case "Command":
      return `${step.command.type} ${describeValue(step.command.request)}`
    case "LeaseTimeToLive":
      return `LeaseTimeToLive ${describeValue(step.request)}`
    case "LeaseLeases":
      return "LeaseLeases"
    case "HashKV":
      return `HashKV {revision: ${step.revision}}`
  }
}

export function describeMismatch(report: DifferentialReport, replay: string): string {
  const mismatch = report.mismatch
  if (mismatch === undefined) return `no mismatch in ${report.stepsCompared} steps (seed ${report.seed})`
  const lines = [
    `the core and etcd disagree: seed ${report.seed}, sequence ${mismatch.sequenceIndex}, ` +
      `step ${mismatch.stepIndex} (step ${mismatch.runStepIndex} of the run)`,
    `request: ${mismatch.step}`,
    `etcd:    ${mismatch.etcd}`,
    `core:    ${mismatch.core}`,
    "differences:",
    ...mismatch.differences.map((d) => `  ${d.path}: etcd ${d.etcd}, core ${d.core}`),
    `replay: ${replay}`,
  ]
  return lines.join("\n")
}
