// collectWhenIdle: one memory-reducing GC once the process goes idle after its RSS grew, none while
// it is busy or has not grown. Run in child processes (it turns on V8's gc for the process).
import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"

const moduleUrl = new URL("../../src/cli/IdleCollect.ts", import.meta.url).href

/** Runs `body` in a child after starting the checks (every 100 ms, 16 MiB growth); returns its output lines. */
function runChild(body: string): string[] {
  const script = `
    import { collectWhenIdle } from ${JSON.stringify(moduleUrl)}
    const MiB = 1 << 20
    const log = (line) => process.stdout.write(line + "\\n")
    collectWhenIdle({ checkMs: 100, growthBytes: 16 * MiB, onCollect: (before, after) => log("collected " + before.rssBytes + " " + after.rssBytes) })
    /** Garbage as a burst of requests leaves it: objects that lived a while, and array buffers. */
    function burst() {
      let held = []
      for (let i = 0; i < 400000; i++) {
        held.push({ i, bytes: new Uint8Array(200) })
        if (held.length === 50000) held = []
      }
    }
    ${body}
  `
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim().split("\n").filter(Boolean)
}

describe("collectWhenIdle", () => {
  it("collects once when the process goes idle after a burst, and RSS falls", () => {
    const lines = runChild(`burst(); setTimeout(() => log("done"), 1500)`)
    const collections = lines.filter((l) => l.startsWith("collected"))
    expect(collections).toHaveLength(1)
    const [, before, after] = collections[0]!.split(" ").map(Number)
    expect(after).toBeLessThan(before!)
    expect(lines.at(-1)).toBe("done")
  }, 30_000)

  it("does not collect while the event loop is busy, nor when idle without growth", () => {
    const lines = runChild(`
      // Busy: a burst's worth of garbage, then the loop kept busy (no idle check passes) for 1 s.
      burst()
      const until = Date.now() + 1000
      const spin = () => { const t = Date.now() + 20; while (Date.now() < t) {} if (Date.now() < until) setImmediate(spin); else log("busy over") }
      spin()
    `)
    expect(lines).toEqual(["busy over"])
    const quiet = runChild(`setTimeout(() => log("idle over"), 800)`)
    expect(quiet).toEqual(["idle over"])
  }, 30_000)
})
