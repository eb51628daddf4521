// The production build (`npm run build`, run by `npm start`): the verikv command and everything it
// loads, bundled by rolldown into dist/ with dead code removed and comments and whitespace dropped.
//
// Why a bundle and not tsc's file-per-module output: V8 keeps the source text of every loaded
// module for lazy compilation, and effect's modules carry their documentation. Loading them as
// they are held 9 MB of source strings; the whole JavaScript heap of an idle member was 24.6 MB
// (13.8 MB bundled), and RSS after loading 100,000 keys fell from 159 to 134 MiB (bench/README.md,
// "RSS"). Identifiers are kept (no mangling), so stack traces and error names stay readable, and
// source maps point back to src/.
//
// The entry stays small and the command is a chunk of its own: main.ts must size V8's young
// generation and possibly re-execute before the command's modules load (see src/cli/main.ts).
//
// Run: node scripts/build.ts [--out-dir DIR]   (DIR defaults to dist/)
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "rolldown"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Bundles the command into `outDir` (emptied first); returns the entry's path. */
export async function buildVerikv(outDir: string): Promise<string> {
  fs.rmSync(outDir, { recursive: true, force: true })
  await build({
    input: { verikv: path.join(root, "src/cli/main.ts") },
    platform: "node",
    logLevel: "warn",
    output: {
      dir: outDir,
      format: "esm",
      entryFileNames: "[name].js",
      chunkFileNames: "[name].js",
      sourcemap: true,
      minify: { compress: true, mangle: false, codegen: true },
    },
  })
  return path.join(outDir, "verikv.js")
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const outAt = args.indexOf("--out-dir")
  const outDir = path.resolve(outAt >= 0 ? args[outAt + 1]! : path.join(root, "dist"))
  const entry = await buildVerikv(outDir)
  const files = fs.readdirSync(outDir).filter((name) => name.endsWith(".js"))
  const kib = files.reduce((sum, name) => sum + fs.statSync(path.join(outDir, name)).size, 0) / 1024
  console.log(`built ${entry} (${files.length} files, ${kib.toFixed(0)} KiB)`)
}
