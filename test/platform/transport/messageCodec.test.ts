// The Raft message codec: every message of every type decodes to itself, every cut of an encoding
// and random garbage fail as a PeerProtocolError (never an AssertionFailure, which would stop the
// node because a peer sent bad bytes).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ByteReader } from "../../../src/platform/transport/ByteReader.ts"
import { ByteWriter } from "../../../src/platform/transport/ByteWriter.ts"
import {
  decodeMessage, decodeSnapshotHead, encodeMessage, encodeSnapshotHead,
} from "../../../src/platform/transport/MessageCodec.ts"
import { PeerProtocolError } from "../../../src/platform/transport/ProtocolError.ts"
import type { Message } from "../../../src/raft/Types.ts"
import { arbitraryMessage } from "./Arbitraries.ts"

function encode(m: Message): Uint8Array {
  const w = new ByteWriter(16)
  encodeMessage(w, m)
  return new Uint8Array(w.take())
}

function expectProtocolError(run: () => unknown): void {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(PeerProtocolError)
    return
  }
  throw new Error("expected a PeerProtocolError")
}

describe("Raft message codec", () => {
  it("round-trips every message type", () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(arbitraryMessage, (m) => {
        seen.add(m.type)
        // structuredClone: fast-check makes some records with a null prototype.
        const bytes = encode(m)
        expect(decodeMessage(new ByteReader(bytes))).toStrictEqual(structuredClone(m))
        // Owned bytes (byte strings as views into them), as InboundConnection decodes.
        expect(decodeMessage(new ByteReader(bytes, 0, bytes.length, true))).toStrictEqual(structuredClone(m))
      }),
      { numRuns: 3000 },
    )
    expect(seen.size).toBe(8)
  })

  it("round-trips a snapshot's head (the first frame of a chunked snapshot)", () => {
    fc.assert(
      fc.property(arbitraryMessage, (m) => {
        if (m.type !== "InstallSnapshotRequest") return
        const w = new ByteWriter(8)
        encodeSnapshotHead(w, m)
        const head = decodeSnapshotHead(new ByteReader(w.take()))
        const { from, to, term, snapshot } = structuredClone(m)
        expect(head).toStrictEqual({ from, to, term, meta: snapshot.meta, dataBytes: snapshot.data.length })
      }),
    )
  })

  it("is compact: a heartbeat with small numbers takes 6 bytes", () => {
    const m = { type: "HeartbeatRequest", from: 1, to: 2, term: 3, commitIndex: 100, context: 0 } as unknown as Message
    expect(encode(m).length).toBe(6)
  })

  it("rejects every strict prefix of an encoding as a PeerProtocolError", () => {
    fc.assert(
      fc.property(arbitraryMessage, (m) => {
        const bytes = encode(m)
        for (let cut = 0; cut < bytes.length; cut++) expectProtocolError(() => decodeMessage(new ByteReader(bytes, 0, cut)))
      }),
      { numRuns: 300 },
    )
  })

  it("rejects trailing bytes", () => {
    fc.assert(
      fc.property(arbitraryMessage, fc.uint8Array({ minLength: 1, maxLength: 4 }), (m, extra) => {
        const bytes = encode(m)
        const longer = new Uint8Array(bytes.length + extra.length)
        longer.set(bytes)
        longer.set(extra, bytes.length)
        expectProtocolError(() => decodeMessage(new ByteReader(longer)))
      }),
      { numRuns: 300 },
    )
  })

  it("turns random bytes into a message or a PeerProtocolError, nothing else", () => {
    let rejected = 0
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeMessage(new ByteReader(bytes))
        } catch (error) {
          expect(error).toBeInstanceOf(PeerProtocolError)
          rejected++
        }
      }),
      { numRuns: 5000 },
    )
    expect(rejected).toBeGreaterThan(0)
  })

  it("refuses a varint beyond 2^53 and an entry count larger than the payload", () => {
    expectProtocolError(() => decodeMessage(new ByteReader(Uint8Array.of(6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))))
    // AppendEntriesRequest from 1 to 2, term 1, prev 0/0, commit 0, then a count of 2^28 entries.
    expectProtocolError(() => decodeMessage(new ByteReader(Uint8Array.of(3, 1, 2, 1, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x01))))
  })
})
