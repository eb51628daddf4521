// Mutual TLS with etcd's peer flags: members with certificates from the trusted CA talk (a multi-MB
// snapshot included); a dialer with a certificate from another CA, a dialer that does not trust
// the listener's CA, and a plain-TCP dialer are refused, and the refusal is logged.
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { PeerTlsFiles } from "../../../src/platform/transport/TransportOptions.ts"
import type { Message } from "../../../src/raft/Types.ts"
import { logIndex, term } from "../../../src/raft/Types.ts"
import { heartbeat, memberIds, startNode, waitUntil, type Node } from "./TransportKit.ts"

const [idA, idB, idC] = memberIds as [bigint, bigint, bigint]
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-peer-tls-"))
const file = (name: string): string => path.join(dir, name)

function openssl(args: ReadonlyArray<string>): void {
  execFileSync("openssl", args, { stdio: "ignore" })
}
const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
function makeCa(ca: string): void {
  openssl(["req", "-x509", ...ecKey, "-keyout", file(`${ca}.key`), "-out", file(`${ca}.crt`), "-days", "1", "-subj", `/CN=${ca}`])
}
/** A certificate for 127.0.0.1, for both ends of a peer connection, signed by `ca`. */
function makeCert(name: string, ca: string): void {
  fs.writeFileSync(file(`${name}.ext`), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
  openssl(["req", ...ecKey, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", `/CN=${name}`])
  openssl(["x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${ca}.crt`), "-CAkey", file(`${ca}.key`), "-CAcreateserial",
    "-out", file(`${name}.crt`), "-days", "1", "-extfile", file(`${name}.ext`)])
}
const tlsFiles = (cert: string, ca: string): PeerTlsFiles =>
  ({ certFile: file(`${cert}.crt`), keyFile: file(`${cert}.key`), trustedCaFile: file(`${ca}.crt`), clientCertAuth: true })

beforeAll(() => {
  makeCa("ca")
  makeCa("other-ca")
  for (const name of ["a", "b"]) makeCert(name, "ca")
  makeCert("stranger", "other-ca")
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let nodes: Node[] = []
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.transport.close()))
  nodes = []
})

describe("peer TLS", () => {
  it("connects members whose certificates chain to the trusted CA", async () => {
    const a = await startNode({ memberId: idA, tls: tlsFiles("a", "ca") })
    const b = await startNode({ memberId: idB, tls: tlsFiles("b", "ca") })
    nodes = [a, b]
    expect(a.url).toMatch(/^https:/)
    b.transport.addPeer(idA, a.raftId, [a.url])
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024))
    const snapshot: Message = {
      type: "InstallSnapshotRequest", from: b.raftId, to: a.raftId, term: term(2),
      snapshot: { meta: { index: logIndex(10), term: term(2), config: { voters: [a.raftId], votersOutgoing: [], learners: [] } }, data },
    }
    await waitUntil(() => b.transport.unreachablePeers().length === 0, "the TLS handshake")
    b.transport.send([heartbeat(b.raftId, a.raftId, 1), snapshot])
    await waitUntil(() => a.received.length === 2, "a heartbeat and a snapshot over TLS")
    const received = a.received[1]
    expect(received?.type === "InstallSnapshotRequest" && Buffer.from(received.snapshot.data).equals(data)).toBe(true)
    expect(a.log.matching(/rejected/)).toStrictEqual([])
  })

  it("refuses a dialer whose certificate comes from another CA, and logs it", async () => {
    const a = await startNode({ memberId: idA, tls: tlsFiles("a", "ca") })
    // The stranger trusts a's CA (so it would accept a) but its own certificate is foreign.
    const stranger = await startNode({ memberId: idC, tls: tlsFiles("stranger", "ca") })
    nodes = [a, stranger]
    stranger.transport.addPeer(idA, a.raftId, [a.url])
    let k = 0
    await waitUntil(() => {
      stranger.transport.send([heartbeat(stranger.raftId, a.raftId, ++k)])
      return a.log.matching(/rejected a peer TLS connection/).length > 0 && stranger.log.matching(/^warn peer /).length > 0
    }, "the refusal on both sides")
    expect(a.log.matching(/rejected/)[0]).toMatch(
      /^warn rejected a peer TLS connection from 127\.0\.0\.1:\d+: client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/)
    expect(stranger.log.matching(/^warn peer /)[0]).toBe(
      `warn peer 127.0.0.1:${a.port} closed the connection during the handshake (did it refuse our certificate?)`)
    expect(a.received).toStrictEqual([])
  })

  it("does not dial on to a listener whose certificate it cannot verify", async () => {
    const a = await startNode({ memberId: idA, tls: tlsFiles("a", "ca") })
    const b = await startNode({ memberId: idB, tls: tlsFiles("b", "other-ca") })
    nodes = [a, b]
    b.transport.addPeer(idA, a.raftId, [a.url])
    await waitUntil(() => b.log.matching(/^warn peer /).length > 0, "b's refusal of a's certificate")
    expect(b.log.matching(/^warn peer /)[0]).toMatch(/is unreachable: .*(certificate|verify)/)
    expect(a.received).toStrictEqual([])
  })

  it("refuses a plain-TCP dialer on the TLS port", async () => {
    const a = await startNode({ memberId: idA, tls: tlsFiles("a", "ca") })
    const plain = await startNode({ memberId: idB })
    nodes = [a, plain]
    plain.transport.addPeer(idA, a.raftId, [`http://127.0.0.1:${a.port}`])
    let k = 0
    await waitUntil(() => {
      plain.transport.send([heartbeat(plain.raftId, a.raftId, ++k)])
      return a.log.matching(/rejected a peer TLS connection/).length > 0
    }, "a's refusal of plain TCP")
    expect(a.log.matching(/rejected/)[0]).toMatch(
      /^warn rejected a peer TLS connection from 127\.0\.0\.1:\d+: TLS handshake failed: wrong version number$/)
    expect(a.received).toStrictEqual([])
    expect(plain.transport.unreachablePeers()).toStrictEqual([idA])
  })
})
