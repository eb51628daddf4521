#!/usr/bin/env node
// The verikv command's entry point. It sizes V8's young generation first (YoungGeneration.ts), then
// loads the command (Command.ts) with a dynamic import: loading it (effect's modules) already grows
// the young generation to 32 MiB, so a static import would come too late. The production build
// (scripts/build.ts) keeps that import as a chunk of its own for the same reason.
// Garbage left by a burst of requests is collected once the process is idle (IdleCollect.ts).
// Before all that, the process re-executes itself once with glibc's malloc tuned (MallocTuning.ts).
import { collectWhenIdle } from "./IdleCollect.ts"
import { tuneMalloc } from "./MallocTuning.ts"
import { holdYoungGeneration } from "./YoungGeneration.ts"

tuneMalloc()
holdYoungGeneration()
collectWhenIdle()
await import("./Command.ts")
