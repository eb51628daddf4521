// The fault pipeline catches real anomalies, arranged deterministically on real processes:
//  - a client that reads serializably (from the member's local state) on a partitioned follower,
//    but records the reads as linearizable gets, produces a history the checker rejects: the
//    follower still answers the value the leader has since overwritten;
//  - a recorded watch stream passes the watch checks as it is, and each tampering (an event
//    dropped, delivered twice, reordered, or changed) is flagged with its kind.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { describeOperation, type Operation } from "../../../src/check/history.ts"
import { checkHistory } from "../../../src/check/linearizability.ts"
import { checkWatches, type WatchEvent, type WatchStream } from "../../../src/check/watch.ts"
import { connectEtcd, type WireMessage } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import { startWatchRecorder } from "../../support/WatchRecorder.ts"
import { startFaultCluster, type FaultCluster, type FaultMember } from "./FaultCluster.ts"
import { readTruth } from "./FinalChecks.ts"
import { callFor, clock } from "./RegisterLoad.ts"

const key = "teeth/k"
const boundMs = 20_000

/** A put through `member`, recorded; it must be answered. */
async function recordedPut(member: FaultMember, clientId: number, value: string): Promise<Operation> {
  const client = connectEtcd(member.member.clientEndpoint)
  try {
    const command = { type: "put", key, value } as const
    const invokeTime = clock()
    const outcome = await callFor(client, command)
    expect(outcome.ok, `put ${value} through ${member.member.name}`).toBe(true)
    return { clientId, command, invokeTime, completion: { returnTime: clock(), outcome: { type: "put" } } }
  } finally {
    client.close()
  }
}

/** A serializable read through `member`, recorded as if it were a linearizable get. */
async function serializableReadAsLinearizable(member: FaultMember, clientId: number): Promise<Operation> {
  const client = connectEtcd(member.member.clientEndpoint)
  try {
    const invokeTime = clock()
    const outcome = await client.call("KV", "Range", { key: Buffer.from(key), serializable: true })
    if (!outcome.ok) throw new Error(`serializable read on ${member.member.name}: ${outcome.message}`)
    const kvs = outcome.response.kvs as ReadonlyArray<WireMessage>
    const read = kvs.length === 0 ? null : (kvs[0]!.value as Buffer).toString()
    return { clientId, command: { type: "get", key }, invokeTime, completion: { returnTime: clock(), outcome: { type: "get", read } } }
  } finally {
    client.close()
  }
}

describe("the fault pipeline has teeth", () => {
  let fc: FaultCluster | undefined
  beforeAll(async () => {
    fc = await startFaultCluster(3)
  }, 120_000)
  afterAll(async () => {
    await fc?.stop()
  })

  it("serializable reads on a cut-off follower, recorded as linearizable, are a violation", async () => {
    const cluster = fc!
    const leader = await cluster.leader()
    const follower = cluster.current().find((m) => m !== leader)!
    const history: Operation[] = [await recordedPut(leader, 1, "before-cut")]
    // The follower must hold the first value before it is cut off.
    const deadline = clock() + boundMs
    for (;;) {
      const read = await serializableReadAsLinearizable(follower, 99)
      if (read.completion?.outcome.type === "get" && read.completion.outcome.read === "before-cut") break
      if (clock() > deadline) throw new Error(`${follower.member.name} never applied the first put`)
      await delay(50)
    }
    cluster.partition([follower.member.name], "blackhole")
    try {
      history.push(await recordedPut(leader, 1, "after-cut"))
      const stale = await serializableReadAsLinearizable(follower, 2)
      history.push(stale)
      console.log(`[teeth] history:\n  ${history.map(describeOperation).join("\n  ")}`)
      const result = checkHistory(history, { stepsMax: 100_000 })
      expect(result.kind).toBe("violation")
      if (result.kind === "violation") expect(result.operations).toContain(stale)
      // The same reads, taken for what they are (not recorded), leave a linearizable history.
      expect(checkHistory(history.filter((o) => o !== stale), { stepsMax: 100_000 }).kind).toBe("linearizable")
    } finally {
      cluster.heal()
    }
  })

  it("a recorded watch stream passes as it is and is flagged when tampered with", async () => {
    const cluster = fc!
    const leader = await cluster.leader()
    const via = cluster.current().find((m) => m !== leader)!
    const spec = { key: "teeth/", rangeEnd: "teeth0", startRevision: 1 }
    const recorder = startWatchRecorder(spec, () => [via.member.clientEndpoint])
    let events: ReadonlyArray<WatchEvent>
    let truth: WatchEvent[]
    try {
      for (let k = 0; k < 10; k++) await recordedPut(leader, 3, `w${k}`)
      truth = await readTruth(leader.member)
      const last = truth.at(-1)!.revision
      const deadline = clock() + boundMs
      while (recorder.lastRevision() < last && clock() < deadline) await delay(50)
      events = [...recorder.events]
    } finally {
      await recorder.stop()
    }
    const stream = (tampered: ReadonlyArray<WatchEvent>): WatchStream => ({ name: "teeth", ...spec, events: tampered })
    const kinds = (tampered: ReadonlyArray<WatchEvent>) => checkWatches([stream(tampered)], truth).violations.map((v) => v.kind)
    expect(events.length).toBeGreaterThanOrEqual(10)
    expect(checkWatches([stream(events)], truth).violations).toEqual([])
    const middle = Math.floor(events.length / 2)
    expect(kinds(events.filter((_, k) => k !== middle))).toEqual(["gap"])
    expect(kinds([...events.slice(0, middle + 1), events[middle]!, ...events.slice(middle + 1)])).toEqual(["duplicate"])
    expect(kinds([...events.slice(0, middle), events[middle + 1]!, events[middle]!, ...events.slice(middle + 2)])).toEqual(["out-of-order"])
    expect(kinds(events.map((e, k) => (k === middle ? { ...e, value: "tampered" } : e)))).toEqual(["wrong-event"])
  })
})
