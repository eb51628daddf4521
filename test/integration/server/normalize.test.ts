// The etcdctl differential is only as sharp as its normalization: these checks plant the
// differences a buggy server would make and require that they survive it, while the differences
// two correct servers make (IDs, ports, terms, event grouping, key order of lease listings) vanish.
import { describe, expect, it } from "vitest"
import {
  errorLines,
  normalizeHealth,
  normalizeStatus,
  normalizeText,
  normalizeWatchJson,
  sortAttachedKeys,
  type NormalizeContext,
} from "./Normalize.ts"

const etcd: NormalizeContext = {
  endpoint: "127.0.0.1:40001",
  known: [
    { value: 13251764213665182500n, label: "<cluster>" },
    { value: 10465078962539302968n, label: "<member>" },
    { value: 0x694d7a0c0a5b4c0an, label: "<lease0>" },
  ],
  paths: [],
}
const verikv: NormalizeContext = {
  endpoint: "127.0.0.1:40002",
  known: [
    { value: 2037210783374497686n, label: "<cluster>" },
    { value: 13195394291058371180n, label: "<member>" },
    { value: 0x0cd49427ff7fba39n, label: "<lease0>" },
  ],
  paths: [],
}

const json = (cluster: bigint, member: bigint, revision: number, term: number, value: string) =>
  `{"header":{"cluster_id":${cluster},"member_id":${member},"revision":${revision},"raft_term":${term}},"kvs":[{"key":"azE=","value":"${value}"}],"count":1}`

describe("etcdctl output normalization", () => {
  it("hides IDs, endpoints, peer ports and terms", () => {
    const fromEtcd = json(13251764213665182500n, 10465078962539302968n, 7, 2, "djI=")
    const fromVerikv = json(2037210783374497686n, 13195394291058371180n, 7, 1, "djI=")
    expect(normalizeText(fromVerikv, verikv)).toBe(normalizeText(fromEtcd, etcd))
    const members = (id: string, endpoint: string, peer: number) => `${id}, started, n, http://127.0.0.1:${peer}, http://${endpoint}, false`
    expect(normalizeText(members((13195394291058371180n).toString(16), verikv.endpoint, 2380), verikv)).toBe(
      normalizeText(members((10465078962539302968n).toString(16), etcd.endpoint, 39999), etcd),
    )
    expect(normalizeText(members("b71f75320dc06a6d", verikv.endpoint, 2380), verikv)).toMatch(/^b71f75320dc06a6d, /)
  })

  it("replaces lease IDs in every form etcdctl prints, zero-padded hex included", () => {
    expect(normalizeText("lease 0cd49427ff7fba39 granted with TTL(10s)", verikv)).toBe("lease <lease0> granted with TTL(10s)")
    expect(normalizeText(`"Lease" : ${0x0cd49427ff7fba39n}`, verikv)).toBe(`"Lease" : <lease0>`)
    expect(normalizeText("lease 694d7a0c0a5b4c0a revoked", etcd)).toBe("lease <lease0> revoked")
  })

  it("keeps a wrong revision, value, count or exit text visible", () => {
    const right = normalizeText(json(13251764213665182500n, 10465078962539302968n, 7, 2, "djI="), etcd)
    expect(normalizeText(json(2037210783374497686n, 13195394291058371180n, 8, 1, "djI="), verikv)).not.toBe(right)
    expect(normalizeText(json(2037210783374497686n, 13195394291058371180n, 7, 1, "djE="), verikv)).not.toBe(right)
    // A lease ID of another lease (or an unknown one) is not mistaken for <lease0>.
    expect(normalizeText("lease 0cd49427ff7fba3a revoked", verikv)).toBe("lease 0cd49427ff7fba3a revoked")
    expect(errorLines("{\"level\":\"warn\"}\nError: etcdserver: key not found\n")).toBe("Error: etcdserver: key not found")
  })

  it("hides status figures but not leadership, learner state or errors", () => {
    const line = (leader: boolean, errors: string) => `<endpoint>, <member>, 3.4.23, 20 kB, ${leader}, false, 2, 9, 9, ${errors}`
    expect(normalizeStatus(line(true, ""))).toBe(normalizeStatus(line(true, "").replace("3.4.23, 20 kB", "3.4.0-verikv, 140 B")))
    expect(normalizeStatus(line(false, ""))).not.toBe(normalizeStatus(line(true, "")))
    expect(normalizeStatus(line(true, "alarm:NOSPACE"))).not.toBe(normalizeStatus(line(true, "")))
    expect(normalizeHealth("x is healthy: successfully committed proposal: took = 1.2ms")).toBe(
      normalizeHealth("x is healthy: successfully committed proposal: took = 870µs"),
    )
  })

  it("orders attached keys but keeps the set", () => {
    expect(sortAttachedKeys("attached keys([l/2 l/1])")).toBe(sortAttachedKeys("attached keys([l/1 l/2])"))
    expect(sortAttachedKeys("attached keys([l/2 l/3])")).not.toBe(sortAttachedKeys("attached keys([l/1 l/2])"))
    expect(sortAttachedKeys(`"keys":["bC8y","bC8x"]`)).toBe(`"keys":["bC8x","bC8y"]`)
  })

  it("regroups watch responses into events, keeping their order, kinds and contents", () => {
    const event = (key: string, revision: number) => `{"kv":{"key":"${key}","mod_revision":${revision}}}`
    const response = (revision: number, events: ReadonlyArray<string>) =>
      `{"Header":{"cluster_id":<cluster>,"revision":${revision}},"Events":[${events.join(",")}],"CompactRevision":0,"Canceled":false,"Created":false}`
    const batched = response(3, [event("YQ==", 2), event("Yg==", 3)])
    const apart = `${response(2, [event("YQ==", 2)])}\n${response(3, [event("Yg==", 3)])}\n`
    expect(normalizeWatchJson(apart)).toBe(normalizeWatchJson(batched))
    const reordered = `${response(3, [event("Yg==", 3)])}\n${response(2, [event("YQ==", 2)])}\n`
    expect(normalizeWatchJson(reordered)).not.toBe(normalizeWatchJson(batched))
    const canceled = `{"Header":{},"Events":[],"CompactRevision":5,"Canceled":true,"Created":false}`
    expect(normalizeWatchJson(`${batched}\n${canceled}`)).not.toBe(normalizeWatchJson(batched))
  })
})
