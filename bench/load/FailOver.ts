// Fail-over time of a 3-member cluster: kill -9 of the leader, then the time until the first put
// through a survivor succeeds. Every PROBE_INTERVAL_MS a put starts on each survivor (over a
// connection opened before the kill), without waiting for earlier probes, so a probe that blocks
// until a leader exists and one sent after the election both count. The killed member is
// restarted and the cluster settles before the next kill.
import { assert } from "../../src/assert.ts"
import { delay } from "../../test/support/EtcdProcess.ts"
import type { RunningCluster } from "./Clusters.ts"
import { Http2Connection, RequestTemplate, grpcRequestHeaderBlock } from "./Http2Connection.ts"
import { Method, putRequest, valueWith } from "./Messages.ts"

const PROBE_INTERVAL_MS = 25
const FAIL_OVER_LIMIT_MS = 20_000
/** After a restart: time for the restarted member to catch up before the next kill. */
const SETTLE_MS = 1_000

export interface FailOver {
  readonly milliseconds: number
  readonly killed: string
  readonly failedProbes: number
}

const putTemplate = (host: string, port: number) =>
  new RequestTemplate(grpcRequestHeaderBlock(Method.put, `${host}:${port}`), putRequest("failover", valueWith("probe")), true)

/** One kill of the current leader; the killed member runs again (and has caught up) on return. */
export async function killLeaderOnce(cluster: RunningCluster): Promise<FailOver> {
  const leader = await cluster.leader()
  const survivors = cluster.members.filter((m) => m !== leader)
  const connections = await Promise.all(survivors.map((m) => Http2Connection.connect(m.host, m.port)))
  try {
    const templates = survivors.map((m) => putTemplate(m.host, m.port))
    assert((await Promise.all(connections.map((c, i) => probe(c, templates[i]!)))).every((ok) => ok),
      "a put through every survivor succeeds before the kill")
    let failedProbes = 0
    let recovered: number | undefined
    const killedAt = performance.now()
    const killed = leader.kill()
    while (recovered === undefined && performance.now() - killedAt < FAIL_OVER_LIMIT_MS) {
      connections.forEach((connection, i) => {
        void probe(connection, templates[i]!).then((ok) => {
          if (ok) recovered ??= performance.now() - killedAt
          else failedProbes++
        })
      })
      await delay(PROBE_INTERVAL_MS)
    }
    await killed
    assert(recovered !== undefined, `a survivor accepted a put within ${FAIL_OVER_LIMIT_MS} ms of the kill`)
    return { milliseconds: recovered, killed: leader.name, failedProbes }
  } finally {
    for (const connection of connections) connection.close()
    await leader.restart()
    await cluster.leader()
    await delay(SETTLE_MS)
  }
}

function probe(connection: Http2Connection, template: RequestTemplate): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false
    connection.start(template, { onMessage: () => (answered = true), onEnd: (ok) => resolve(ok && answered) })
  })
}
