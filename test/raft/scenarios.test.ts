// Deterministic scenarios for each capability of the core, on a perfect network.
import { describe, expect, it } from "vitest"
import type { Input, Ready } from "../../src/raft/Api.ts"
import type { Config, LogIndex, NodeId } from "../../src/raft/Types.ts"
import {
  type ClusterState,
  deliver,
  newCluster,
  server,
  snapshotData,
  stepServer,
  value,
} from "../model/Cluster.ts"

const n = (id: number) => id as NodeId
const voters = (...ids: number[]): Config => ({ voters: ids as NodeId[], votersOutgoing: [], learners: [] })

function cluster(ids: number[], config: Config, preVote = true, checkQuorum = true): ClusterState {
  return newCluster({ ids: ids as NodeId[], initialConfig: config, preVote, checkQuorum })
}
function settle(c: ClusterState, except?: number): void {
  for (let k = 0; k < 10_000 && c.network.length > 0; k++) {
    const at = c.network.findIndex((m) => m.to !== except && m.from !== except)
    if (at < 0) return
    deliver(c, at)
  }
}
function run(c: ClusterState, id: number, input: Input): Ready {
  const ready = stepServer(c, n(id), input)
  settle(c)
  return ready
}
function elect(c: ClusterState, id: number): void {
  run(c, id, { type: "Hup" })
  expect(server(c, n(id)).raft.role).toBe("Leader")
}

describe("election", () => {
  it("a single voter elects itself and commits alone", () => {
    const c = cluster([1], voters(1))
    elect(c, 1)
    run(c, 1, { type: "Propose", data: [value(5)] })
    expect(server(c, n(1)).applied).toEqual([0, 5])
  })

  it("a pre-candidate that cannot win does not raise its term", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    const term = server(c, n(2)).raft.currentTerm
    stepServer(c, n(2), { type: "Hup" }) // server 2 times out although the leader is alive
    settle(c)
    expect(server(c, n(2)).raft.currentTerm).toBe(term)
    expect(server(c, n(1)).raft.role).toBe("Leader")
  })

  it("without PreVote or a leader lease the same timeout deposes the leader", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3), false, false)
    elect(c, 1)
    run(c, 2, { type: "Hup" })
    expect(server(c, n(1)).raft.role).not.toBe("Leader")
    expect(server(c, n(2)).raft.currentTerm).toBeGreaterThan(1)
  })

  it("a server whose term ran ahead answers the leader's stale heartbeat, and the leader steps down", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    // A transfer to server 3 whose vote requests are lost: its term runs ahead of the leader's.
    stepServer(c, n(1), { type: "TransferLeader", target: n(3) })
    deliver(c, c.network.findIndex((m) => m.type === "TimeoutNowRequest"))
    c.network.length = 0
    const ahead = server(c, n(3)).raft.currentTerm
    expect(ahead).toBeGreaterThan(server(c, n(1)).raft.currentTerm)
    run(c, 1, { type: "Beat" })
    expect(server(c, n(1)).raft.role).not.toBe("Leader")
    expect(server(c, n(1)).raft.currentTerm).toBe(ahead)
    // The next election includes server 3 again.
    elect(c, 2)
    run(c, 2, { type: "Propose", data: [value(7)] })
    expect(server(c, n(3)).applied).toEqual(server(c, n(2)).applied)
  })

  it("CheckQuorum makes an isolated leader step down", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    stepServer(c, n(1), { type: "CheckQuorum" }) // everyone was active since the election
    expect(server(c, n(1)).raft.role).toBe("Leader")
    stepServer(c, n(1), { type: "CheckQuorum" }) // nobody answered since the last check
    expect(server(c, n(1)).raft.role).toBe("Follower")
  })
})

describe("requests", () => {
  it("a follower refuses proposals and reads with a reason", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    expect(run(c, 2, { type: "Propose", data: [value(1)] }).rejection).toBe("NotLeader")
    expect(run(c, 2, { type: "ReadIndex", context: 9 }).rejection).toBe("NotLeader")
  })

  it("ReadIndex answers with the commit index after a quorum confirms leadership", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    run(c, 1, { type: "Propose", data: [value(1), value(2)] })
    run(c, 1, { type: "ReadIndex", context: 42 })
    expect(c.reads).toEqual([{ context: 42, server: 1, committedAtStart: 3, index: 3 }])
  })

  it("a new leader holds reads until it commits an entry of its term", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    stepServer(c, n(1), { type: "Hup" })
    // Deliver only the votes, not the no-op append.
    for (let k = 0; k < 100 && server(c, n(1)).raft.role !== "Leader"; k++) deliver(c, 0)
    stepServer(c, n(1), { type: "ReadIndex", context: 7 })
    expect(c.reads[0]!.index).toBeUndefined()
    settle(c)
    expect(c.reads[0]!.index).toBe(1)
  })
})

describe("leader transfer", () => {
  it("hands leadership to an up-to-date voter with TimeoutNow", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    run(c, 1, { type: "TransferLeader", target: n(3) })
    expect(server(c, n(3)).raft.role).toBe("Leader")
    expect(server(c, n(1)).raft.role).toBe("Follower")
  })

  it("refuses proposals while a transfer is under way", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    stepServer(c, n(1), { type: "TransferLeader", target: n(3) })
    expect(stepServer(c, n(1), { type: "Propose", data: [value(1)] }).rejection).toBe("LeaderTransferInProgress")
  })
})

describe("membership", () => {
  it("adds a learner, promotes it through a joint configuration, and leaves it", () => {
    const c = cluster([1, 2, 3, 4], voters(1, 2, 3))
    elect(c, 1)
    run(c, 1, { type: "ProposeConfChange", changes: [{ type: "AddLearner", id: n(4) }] })
    expect(server(c, n(4)).raft.log.entries.length).toBeGreaterThan(0)
    expect(server(c, n(1)).raft.log.configIndexes.length).toBe(1)
    run(c, 1, { type: "ProposeConfChange", changes: [{ type: "AddVoter", id: n(4) }, { type: "RemoveNode", id: n(3) }] })
    for (const id of [1, 2, 4]) {
      const r = server(c, n(id)).raft
      const last = r.log.entries[r.log.configIndexes[r.log.configIndexes.length - 1]! - 1]!.config!
      expect(last).toEqual({ voters: [1, 2, 4], votersOutgoing: [], learners: [] })
      expect(r.log.commitIndex).toBe(4) // no-op, learner, joint, leave-joint
    }
  })

  it("refuses a second change while one is in flight", () => {
    const c = cluster([1, 2, 3, 4], voters(1, 2, 3))
    elect(c, 1)
    stepServer(c, n(1), { type: "ProposeConfChange", changes: [{ type: "AddLearner", id: n(4) }] })
    const second = stepServer(c, n(1), { type: "ProposeConfChange", changes: [{ type: "RemoveNode", id: n(4) }] })
    expect(second.rejection).toBe("ConfChangePending")
  })

  it("a removed leader steps down once its removal commits", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    run(c, 1, { type: "ProposeConfChange", changes: [{ type: "RemoveNode", id: n(1) }] })
    expect(server(c, n(1)).raft.role).toBe("Follower")
    // The remaining voters elect a leader among themselves once their leases lapse.
    const leaderAmong = () => [2, 3].find((id) => server(c, n(id)).raft.role === "Leader")
    for (let t = 0; t < 200 && leaderAmong() === undefined; t++) {
      stepServer(c, n(2), { type: "Tick" })
      stepServer(c, n(3), { type: "Tick" })
      settle(c)
    }
    expect(leaderAmong()).toBeDefined()
    expect(server(c, n(1)).raft.role).toBe("Follower")
  })
})

describe("compaction", () => {
  it("a follower that missed compacted entries catches up from a snapshot", () => {
    const c = cluster([1, 2, 3], voters(1, 2, 3))
    elect(c, 1)
    // Server 3 hears nothing while the leader commits and compacts.
    for (let v = 1; v <= 3; v++) {
      stepServer(c, n(1), { type: "Propose", data: [value(v)] })
      settle(c, 3)
    }
    c.network = c.network.filter((m) => m.to !== n(3) && m.from !== n(3))
    const leader = server(c, n(1))
    const at = leader.appliedIndex as LogIndex
    run(c, 1, { type: "CompactLog", index: at, data: snapshotData(leader, at) })
    expect(leader.raft.log.snapshot.meta.index).toBe(4)
    run(c, 1, { type: "Beat" })
    run(c, 1, { type: "Propose", data: [value(9)] })
    expect(server(c, n(3)).raft.log.snapshot.meta.index).toBe(4)
    expect(server(c, n(3)).applied).toEqual([0, 1, 2, 3, 9])
  })
})
