#!/usr/bin/env node
// The verikv command's entry point. It sizes V8's young generation first (YoungGeneration.ts), then
// loads the command (Command.ts) with a dynamic import: loading it (type stripping, effect's
// modules) already grows the young generation to 32 MiB, so a static import would come too late.
import { holdYoungGeneration } from "./YoungGeneration.ts"

holdYoungGeneration()
await import("./Command.ts")
