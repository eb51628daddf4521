// The small pure pieces of the transport: reconnect delays, snapshot reassembly, peer URLs.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { reconnectDelayMs } from "../../../src/platform/transport/Backoff.ts"
import { parsePeerUrl } from "../../../src/platform/transport/PeerUrl.ts"
import { PeerProtocolError } from "../../../src/platform/transport/ProtocolError.ts"
import { SnapshotAssembler } from "../../../src/platform/transport/SnapshotAssembler.ts"
import type { SnapshotHead } from "../../../src/platform/transport/MessageCodec.ts"
import { logIndex, nodeId, term } from "../../../src/raft/Types.ts"

describe("reconnect delays", () => {
  it("double from the initial delay up to the maximum, jittered within the upper half", () => {
    fc.assert(fc.property(fc.nat({ max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const ceiling = Math.min(1000, 50 * 2 ** attempt)
      const delay = reconnectDelayMs(attempt, 50, 1000, () => r)
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2)
      expect(delay).toBeLessThanOrEqual(ceiling)
    }))
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => reconnectDelayMs(a, 50, 1000, () => 1))).toStrictEqual([50, 100, 200, 400, 800, 1000, 1000])
  })
})

const head = (dataBytes: number): SnapshotHead => ({
  from: nodeId(1), to: nodeId(2), term: term(3),
  meta: { index: logIndex(4), term: term(3), config: { voters: [nodeId(1)], votersOutgoing: [], learners: [] } }, dataBytes,
})

function protocolError(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(PeerProtocolError)
    return (error as Error).message
  }
  throw new Error("expected a PeerProtocolError")
}

describe("snapshot reassembly", () => {
  it("gives back the snapshot once its last chunk arrives, however it was cut", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), fc.array(fc.nat({ max: 500 })), (data, cuts) => {
      const assembler = new SnapshotAssembler(1000)
      const points = [...new Set([0, ...cuts.filter((c) => c < data.length), data.length])].sort((x, y) => x - y)
      let done = assembler.begin(head(data.length))
      for (let k = 1; k < points.length; k++) {
        expect(done).toBeUndefined()
        done = assembler.append(data.subarray(points[k - 1], points[k]))
      }
      expect(done).toStrictEqual({ type: "InstallSnapshotRequest", from: 1, to: 2, term: 3, snapshot: { meta: head(0).meta, data } })
      expect(assembler.inProgress).toBe(false)
    }))
  })

  it("refuses a snapshot over the maximum, a second head, a chunk too many", () => {
    expect(protocolError(() => new SnapshotAssembler(1000).begin(head(1001)))).toBe("snapshot of 1001 bytes exceeds the maximum of 1000")
    const assembler = new SnapshotAssembler(1000)
    assembler.begin(head(10))
    expect(protocolError(() => assembler.begin(head(10)))).toBe("a snapshot head before the previous snapshot was complete")
    assembler.append(new Uint8Array(6))
    expect(protocolError(() => assembler.append(new Uint8Array(5)))).toBe("a snapshot chunk of 5 bytes with 4 to go")
  })
})

describe("peer URLs", () => {
  it("parse etcd's forms and refuse others", () => {
    expect(parsePeerUrl("http://127.0.0.1:2380")).toStrictEqual({ secure: false, host: "127.0.0.1", port: 2380, address: "127.0.0.1:2380" })
    expect(parsePeerUrl("https://[::1]:2380")).toStrictEqual({ secure: true, host: "::1", port: 2380, address: "[::1]:2380" })
    expect(() => parsePeerUrl("unix:///tmp/x")).toThrow(/must start with http:\/\/ or https:\/\//)
    expect(() => parsePeerUrl("http://127.0.0.1")).toThrow(/has no port/)
    expect(() => parsePeerUrl("127.0.0.1:2380")).toThrow()
  })
})
