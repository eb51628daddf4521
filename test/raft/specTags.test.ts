// The code cannot silently lose a spec action: every action of spec/Raft.tla's next-state
// relation has exactly one function tagged `@spec Raft.tla Name` in src/raft, and every tag and
// every traced action name exists in the spec.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const spec = readFileSync(join(root, "spec", "Raft.tla"), "utf8")

/** Actions the environment takes (the simulator's and model checker's job, not the core's). */
const environmentActions = new Set(["DropMessage", "DuplicateMessage", "Restart"])

function definitionBody(name: string): string {
  const start = spec.search(new RegExp(`^${name}(\\([^)]*\\))? ==`, "m"))
  expect(start, `spec defines ${name}`).toBeGreaterThanOrEqual(0)
  const rest = spec.slice(start)
  const firstLineEnd = rest.indexOf("\n") + 1
  const end = rest.slice(firstLineEnd).search(/^\S/m)
  return end < 0 ? rest : rest.slice(0, firstLineEnd + end)
}

function specActions(): string[] {
  const names = new Set<string>()
  for (const block of [definitionBody("Next"), definitionBody("Receive")]) {
    for (const match of block.matchAll(/(?:\\\/|:)\s*([A-Z][A-Za-z]+)\(/g)) names.add(match[1]!)
  }
  names.delete("Receive")
  return [...names].sort()
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith(".ts") ? [join(dir, d.name)] : [])
}

function specTags(): string[] {
  const tags: string[] = []
  for (const file of sourceFiles(join(root, "src", "raft"))) {
    for (const match of readFileSync(file, "utf8").matchAll(/@spec Raft\.tla (\w+)/g)) tags.push(match[1]!)
  }
  return tags.sort()
}

describe("spec <-> code names", () => {
  it("finds the spec's actions", () => {
    expect(specActions()).toContain("HandleAppendEntriesRequest")
    expect(specActions().length).toBeGreaterThanOrEqual(25)
  })

  it("tags exactly one function for every action the core takes", () => {
    const tags = specTags()
    const core = specActions().filter((a) => !environmentActions.has(a))
    for (const action of core) {
      expect(tags.filter((t) => t === action), `@spec Raft.tla ${action}`).toHaveLength(1)
    }
    for (const tag of tags) expect(core, `tag ${tag} names a spec action`).toContain(tag)
  })

  it("traces only actions the spec has", () => {
    const trace = readFileSync(join(root, "src", "raft", "Trace.ts"), "utf8")
    const union = trace.slice(trace.indexOf("export type SpecAction"), trace.indexOf("/** The spec variables"))
    const traced = [...union.matchAll(/"(\w+)"/g)].map((m) => m[1]!)
    expect(traced.length).toBeGreaterThan(20)
    for (const action of traced) expect(specActions(), action).toContain(action)
  })
})
