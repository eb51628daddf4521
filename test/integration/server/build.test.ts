// The production build (scripts/build.ts, what `npm start` runs): a bundle that needs nothing but
// Node, and a command that behaves as the sources do. The bundle is built outside the repository,
// where no node_modules directory can lend it a package it failed to include.
import { execFileSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseSync } from "rolldown/utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildVerikv } from "../../../scripts/build.ts"
import { connectEtcd } from "../../support/EtcdClient.ts"
import { startVerikv } from "../../support/VerikvProcess.ts"

const sourceMain = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../src/cli/main.ts")
const runNode = (script: string, ...args: Array<string>) =>
  execFileSync(process.execPath, [script, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

describe("the production build", () => {
  let outDir = ""
  let entry = ""
  beforeAll(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "verikv-build-test-"))
    entry = await buildVerikv(outDir)
  }, 60_000)
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }))

  it("imports only Node's own modules and its own chunks", () => {
    const scripts = fs.readdirSync(outDir).filter((name) => name.endsWith(".js"))
    expect(scripts).toContain("verikv.js")
    const imported: Array<string> = []
    for (const name of scripts) {
      const code = fs.readFileSync(path.join(outDir, name), "utf8")
      const parsed = parseSync(name, code, { sourceType: "module" })
      expect(parsed.errors, name).toEqual([])
      imported.push(...parsed.module.staticImports.map((i) => i.moduleRequest.value))
      // Dynamic imports: only the command chunk, named literally (a computed one would hide a package).
      for (const d of parsed.module.dynamicImports) {
        const text = code.slice(d.moduleRequest.start, d.moduleRequest.end)
        imported.push(text.replace(/^[`'"]|[`'"]$/g, ""))
      }
    }
    expect(imported.filter((s) => !s.startsWith("node:"))).toEqual(["./Command.js"])
    expect(imported.length).toBeGreaterThan(10) // node:fs, node:net, ... (the scan saw the imports)
  })

  it("answers --version and --help as the sources do", () => {
    expect(runNode(entry, "--version")).toBe(runNode(sourceMain, "--version"))
    expect(runNode(entry, "--help")).toBe(runNode(sourceMain, "--help"))
  })

  it("serves a put and a get, and stops cleanly", async () => {
    const verikv = await startVerikv({ main: entry, name: "bundled" })
    const client = connectEtcd(verikv.clientEndpoint)
    try {
      const put = await client.call("KV", "Put", { key: Buffer.from("k"), value: Buffer.from("v") })
      expect(put).toMatchObject({ ok: true, response: { header: { revision: "2" } } })
      const got = await client.call("KV", "Range", { key: Buffer.from("k") })
      expect(got).toMatchObject({ ok: true, response: { count: "1", kvs: [{ value: Buffer.from("v") }] } })
      expect(verikv.log()).toMatch(/name = bundled/)
    } finally {
      client.close()
      await verikv.stop()
    }
    expect(verikv.running()).toBe(false)
  })
})
