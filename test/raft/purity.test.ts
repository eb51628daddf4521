// The cores stay pure: src/raft imports only itself and src/assert.ts, src/kv only itself, src/raft's
// types and src/assert.ts; neither touches a clock, ambient randomness, timers, promises or the
// Effect runtime.
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const src = resolve(import.meta.dirname, "..", "..", "src")
const assertModule = resolve(src, "assert.ts")
const cores = [
  { core: resolve(src, "raft"), allowedOutside: new Set([assertModule]) },
  { core: resolve(src, "kv"), allowedOutside: new Set([assertModule, resolve(src, "raft", "Types.ts")]) },
]
const banned = /Date\.now|new Date|Math\.random|performance\.now|setTimeout|setInterval|setImmediate|process\.|\basync\b|\bawait\b|Promise/

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith(".ts") ? [join(dir, d.name)] : [])
}

for (const { core, allowedOutside } of cores) {
  describe(`${relative(src, core)} is pure`, () => {
    for (const file of files(core)) {
      it(relative(core, file), () => {
        const text = readFileSync(file, "utf8")
        const code = text.replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "")
        expect(code).not.toMatch(banned)
        for (const match of code.matchAll(/from\s+"([^"]+)"/g)) {
          const spec = match[1]!
          expect(spec.startsWith("."), `${spec} is a relative import`).toBe(true)
          const target = resolve(file, "..", spec)
          expect(target.startsWith(core + "/") || allowedOutside.has(target), `${spec} stays inside the core`).toBe(true)
        }
      })
    }
  })
}
