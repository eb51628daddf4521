// Client TLS with etcd's flags: a client with a certificate from the trusted CA is served, one
// without a certificate or with a certificate from another CA is refused during the handshake
// (and the refusal is logged); the server goes on serving.
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { etcdctl } from "../../support/Etcdctl.ts"
import { freeLoopbackPort, loopbackHost } from "../../support/FreePort.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-tls-"))
const file = (name: string): string => path.join(dir, name)
let server: ChildProcess
let endpoint: string
const logPath = file("verikv.log")

function openssl(args: ReadonlyArray<string>): void {
  execFileSync("openssl", args, { stdio: "ignore" })
}

/** A CA, and a certificate for 127.0.0.1 signed by it, valid for server and client use. */
function makeCa(ca: string): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file(`${ca}.key`), "-out", file(`${ca}.crt`), "-days", "1", "-subj", `/CN=${ca}`])
}
function makeCert(name: string, ca: string): void {
  fs.writeFileSync(file(`${name}.ext`), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", `/CN=${name}`])
  openssl(["x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${ca}.crt`), "-CAkey", file(`${ca}.key`), "-CAcreateserial",
    "-out", file(`${name}.crt`), "-days", "1", "-extfile", file(`${name}.ext`)])
}

beforeAll(async () => {
  makeCa("ca")
  makeCa("other-ca")
  makeCert("server", "ca")
  makeCert("client", "ca")
  makeCert("stranger", "other-ca")
  const port = await freeLoopbackPort()
  const url = `https://${loopbackHost}:${port}`
  endpoint = url
  const log = fs.openSync(logPath, "a")
  server = spawn(process.execPath, [
    path.resolve("src/cli/main.ts"), `--data-dir=${file("data")}`,
    `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    // Port 0: test files run in parallel, and a fixed peer port (2380 by default) would collide.
    "--listen-peer-urls=http://127.0.0.1:0",
    `--cert-file=${file("server.crt")}`, `--key-file=${file("server.key")}`,
    `--trusted-ca-file=${file("ca.crt")}`, "--client-cert-auth",
  ], { stdio: ["ignore", log, log] })
  fs.closeSync(log)
  const deadline = Date.now() + 20_000
  while (!fs.readFileSync(logPath, "utf8").includes("serving client requests on")) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`verikv did not start:\n${fs.readFileSync(logPath, "utf8")}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}, 60_000)

afterAll(() => {
  if (server?.pid !== undefined && server.exitCode === null) process.kill(server.pid, "SIGKILL")
  fs.rmSync(dir, { recursive: true, force: true })
})

const tlsArgs = (cert: string | undefined): string[] => [
  `--cacert=${file("ca.crt")}`, "--dial-timeout=2s", "--command-timeout=3s",
  ...(cert === undefined ? [] : [`--cert=${file(`${cert}.crt`)}`, `--key=${file(`${cert}.key`)}`]),
]

describe("client TLS", () => {
  it("serves a client whose certificate chains to the trusted CA", async () => {
    expect((await etcdctl(endpoint, [...tlsArgs("client"), "put", "k", "v"])).stdout.trim()).toBe("OK")
    expect((await etcdctl(endpoint, [...tlsArgs("client"), "get", "k", "--print-value-only"])).stdout.trim()).toBe("v")
  })

  it("refuses a client without a certificate, and one from another CA, and logs it", async () => {
    const anonymous = await etcdctl(endpoint, [...tlsArgs(undefined), "get", "k"])
    expect(anonymous.code).not.toBe(0)
    const stranger = await etcdctl(endpoint, [...tlsArgs("stranger"), "get", "k"])
    expect(stranger.code).not.toBe(0)
    const log = fs.readFileSync(logPath, "utf8")
    expect(log).toMatch(/rejected client TLS connection: .*peer did not return a certificate/)
    expect(log).toMatch(/rejected client TLS connection: .*certificate/)
    // Still serving the trusted client.
    expect((await etcdctl(endpoint, [...tlsArgs("client"), "get", "k", "--print-value-only"])).stdout.trim()).toBe("v")
  })
})
