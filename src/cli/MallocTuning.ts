// glibc's malloc tuned for a long-running server whose heap is mostly array buffers.
//
// Measured on the RSS row (npm run bench, 100,000 keys loaded by 256 clients): glibc keeps ~60
// MiB that V8 freed, because freed request buffers sit between long-lived ones in the main arena
// and free() only returns the arena's top; each busy thread also gets an arena of its own. With
// the settings below (fixed mmap threshold, so blocks from 128 KiB up, e.g. the Raft log's
// 256 KiB chunks in kv/BytePool.ts, are mapped on their own and unmapped when freed; two arenas;
// the top trimmed from 128 KiB) RSS after the load fell from 237-238 to 199-201 MiB.
//
// glibc reads GLIBC_TUNABLES only when a process starts, so the command re-executes itself once
// (same pid, same arguments: process.execve) before loading anything else. An operator who set
// GLIBC_TUNABLES keeps theirs; VERIKV_MALLOC_TUNING=off skips this.
const TUNABLES = [
  "glibc.malloc.mmap_threshold=131072",
  "glibc.malloc.arena_max=2",
  "glibc.malloc.trim_threshold=131072",
  "glibc.malloc.top_pad=0",
].join(":")

/** Re-executes the process with TUNABLES, once; returns only when no re-execution is due. */
export function tuneMalloc(): void {
  const env = process.env
  if (process.platform !== "linux" || env.GLIBC_TUNABLES !== undefined || env.VERIKV_MALLOC_TUNING === "off") return
  if (typeof process.execve !== "function") return
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...env, GLIBC_TUNABLES: TUNABLES })
}
