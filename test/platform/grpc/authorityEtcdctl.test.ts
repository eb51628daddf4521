// etcdctl 3.4 given an http:// endpoint sends it whole as :authority; a real verikv process
// answers `endpoint status` and `endpoint hashkv`, with and without --cluster (which dials the
// advertised client URLs). nghttp2 (node:http2) refused that :authority; the hand-written HTTP/2
// server takes it as Go's server does. Over TLS etcdctl sends the TLS server name instead.
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { etcdctl } from "../../support/Etcdctl.ts"
import { delay, killQuietly } from "../../support/EtcdProcess.ts"
import { freeLoopbackPort, loopbackHost } from "../../support/FreePort.ts"
import { startVerikv, type VerikvProcess } from "../../support/VerikvProcess.ts"

const readyTimeoutMs = 30_000

async function expectEndpointCommandsServed(endpoint: string, extraArgs: ReadonlyArray<string>): Promise<void> {
  for (const command of [["endpoint", "status"], ["endpoint", "status", "--cluster"], ["endpoint", "hashkv"], ["endpoint", "hashkv", "--cluster"]]) {
    const result = await etcdctl(endpoint, [...extraArgs, ...command])
    expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: "" })
    expect(result.stdout.trim()).toMatch(new RegExp(`^${endpoint.replaceAll(".", "\\.")}, `))
  }
  const put = await etcdctl(endpoint, [...extraArgs, "put", "scheme-key", endpoint])
  expect(put.stdout.trim()).toBe("OK")
  expect((await etcdctl(endpoint, [...extraArgs, "get", "scheme-key", "--print-value-only"])).stdout.trim()).toBe(endpoint)
}

describe("etcdctl with http:// endpoints", () => {
  let verikv: VerikvProcess
  beforeAll(async () => {
    verikv = await startVerikv()
  }, 60_000)
  afterAll(() => verikv?.stop())

  it("serves endpoint status and hashkv, with --cluster too", async () => {
    await expectEndpointCommandsServed(`http://${verikv.clientEndpoint}`, [])
    expect(verikv.running()).toBe(true)
  }, 120_000)
})

describe("etcdctl with https:// endpoints", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-authority-tls-"))
  const file = (name: string): string => path.join(dir, name)
  let server: ChildProcess | undefined
  let endpoint = ""

  beforeAll(async () => {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("server.key"), "-out", file("server.crt"),
      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" })
    endpoint = `https://${loopbackHost}:${await freeLoopbackPort()}`
    const log = fs.openSync(file("verikv.log"), "a")
    server = spawn(process.execPath, [path.resolve("src/cli/main.ts"), `--data-dir=${file("data")}`,
      `--listen-client-urls=${endpoint}`, `--advertise-client-urls=${endpoint}`,
      // Port 0: test files run in parallel, and a fixed peer port (2380 by default) would collide.
      "--listen-peer-urls=http://127.0.0.1:0",
      `--cert-file=${file("server.crt")}`, `--key-file=${file("server.key")}`], { stdio: ["ignore", log, log] })
    fs.closeSync(log)
    const deadline = Date.now() + readyTimeoutMs
    while (!fs.readFileSync(file("verikv.log"), "utf8").includes("serving client requests on")) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`verikv did not start:\n${fs.readFileSync(file("verikv.log"), "utf8")}`)
      await delay(50)
    }
  }, 60_000)

  afterAll(() => {
    if (server?.pid !== undefined && server.exitCode === null) killQuietly(server.pid, "SIGKILL")
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("serves endpoint status and hashkv over TLS, with --cluster too", async () => {
    await expectEndpointCommandsServed(endpoint, [`--cacert=${file("server.crt")}`])
    expect(fs.readFileSync(file("verikv.log"), "utf8")).not.toMatch(/closing client connection/)
  }, 120_000)
})
