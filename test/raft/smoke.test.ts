import { describe, expect, it } from "vitest"
import type { NodeId } from "../../src/raft/Types.ts"
import { deliver, newCluster, server, stepServer, value } from "../model/Cluster.ts"

const ids = [1, 2, 3] as NodeId[]
const options = {
  ids,
  initialConfig: { voters: ids, votersOutgoing: [], learners: [] },
  preVote: true,
  checkQuorum: true,
}

describe("a 3-server cluster on a perfect network", () => {
  it("elects a leader, replicates and commits", () => {
    const c = newCluster(options)
    stepServer(c, 1 as NodeId, { type: "Hup" })
    for (let n = 0; c.network.length > 0 && n < 1000; n++) deliver(c, 0)
    expect(server(c, 1 as NodeId).raft.role).toBe("Leader")
    stepServer(c, 1 as NodeId, { type: "Propose", data: [value(7), value(8)] })
    for (let n = 0; c.network.length > 0 && n < 1000; n++) deliver(c, 0)
    for (const id of ids) {
      expect(server(c, id).applied).toEqual([0, 7, 8])
      expect(server(c, id).raft.log.commitIndex).toBe(3)
    }
  })
})
