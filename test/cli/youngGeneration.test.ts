// holdYoungGeneration: V8's young generation keeps its initial size under a load that grows it
// (checked in a child process, since it sets a V8 flag for the whole process), and a user's own
// --max-semi-space-size wins.
import { execFileSync, spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const moduleUrl = new URL("../../src/cli/YoungGeneration.ts", import.meta.url).href
const MiB = 1 << 20

/** Runs a workload whose objects survive a while (as in-flight requests do); returns the young generation's size. */
function youngGenerationAfterLoad(options: { hold: boolean; nodeFlags?: string[] }): number {
  const script = `
    import * as v8 from "node:v8"
    import { holdYoungGeneration } from ${JSON.stringify(moduleUrl)}
    ${options.hold ? "holdYoungGeneration()" : ""}
    const ring = new Array(20000)
    for (let i = 0; i < 3e6; i++) ring[i % ring.length] = { i, list: [i, i + 1], text: "k" + (i % 997) }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size)
  `
  const output = execFileSync(process.execPath, [...(options.nodeFlags ?? []), "--input-type=module", "-e", script], {
    cwd: path.dirname(fileURLToPath(import.meta.url)),
    encoding: "utf8",
  })
  return Number(output.trim())
}

describe("holdYoungGeneration", () => {
  it("keeps the young generation small under a load that grows it to 64 MiB without the hold", () => {
    // V8 still adds a 256 KiB page now and then (6-17 MiB after this load, 2 MiB in the server
    // under the RSS bench's load), but no longer doubles it up to its maximum.
    expect(youngGenerationAfterLoad({ hold: false })).toBeGreaterThanOrEqual(48 * MiB)
    expect(youngGenerationAfterLoad({ hold: true })).toBeLessThan(24 * MiB)
  }, 30_000)

  it("leaves the young generation alone when the user chose its size", () => {
    expect(youngGenerationAfterLoad({ hold: true, nodeFlags: ["--max-semi-space-size=16"] })).toBe(2 * 16 * MiB)
  }, 30_000)

  it("holds it in the verikv command before the command's modules load (they would grow it to 32 MiB)", () => {
    const reportAtExit = `import * as v8 from "node:v8"
      process.on("exit", () => process.stderr.write("new_space " + v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size + "\\n"))`
    const mainScript = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))
    const result = spawnSync(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(reportAtExit)}`, mainScript, "--version"], { encoding: "utf8" })
    expect(result.stdout).toContain("verikv")
    const size = Number(/new_space (\d+)/.exec(result.stderr)?.[1])
    expect(size).toBeGreaterThan(0)
    expect(size).toBeLessThan(8 * MiB)
  }, 30_000)
})
