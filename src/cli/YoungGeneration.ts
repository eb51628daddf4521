// Keeps V8's young generation at its initial size in the verikv process. main.ts calls this before
// it loads the command: loading Command.ts (type stripping, effect's modules) alone grows the
// young generation to two 16 MiB semi-spaces, which this would then have kept.
//
// Under a write load V8 grows the young generation up to its default maximum, two 64 MiB
// semi-spaces on 64-bit Node, and keeps it: 128 MiB of the ~580 MiB resident after loading
// 100,000 keys (bench/README.md). A request lives a few milliseconds (until its WAL save is
// durable), and the growth bought no measurable CPU per put here: with the young generation held
// at its initial size, RSS after the load fell by 100-170 MiB and server CPU per put stayed within
// the run-to-run noise of the default (bench/README.md, "RSS").
//
// --max-semi-space-size is read only when the heap is created, and Node has no supported way for a
// program to pass V8 flags to itself (NODE_OPTIONS or a wrapper script are the user's business;
// a re-exec would load the program twice). V8 reads --semi-space-growth-factor each time it grows
// the young generation, so setting it to 1 stops the doubling: the young generation stayed at its
// initial 2 MiB in the server under the RSS bench's load (V8 may still add a 256 KiB page at a
// time: a synthetic test reached 6-17 MiB where the default reached 64). v8.setFlagsFromString is a public Node API; a V8 without the flag would
// just keep its default behaviour. A user's own --max-semi-space-size or growth factor wins.
import * as v8 from "node:v8"

function userSizesYoungGeneration(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)]
  return flags.some((flag) => /^--(max|min)[-_]semi[-_]space[-_]size\b|^--semi[-_]space[-_]growth[-_]factor\b/.test(flag))
}

export function holdYoungGeneration(): void {
  if (!userSizesYoungGeneration()) v8.setFlagsFromString("--semi-space-growth-factor=1")
}
