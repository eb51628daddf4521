// The verikv command: one member of a verikv cluster, configured like etcd (loaded by main.ts).
// Runs until SIGINT or SIGTERM, then closes the listeners, flushes the WAL and exits.
// `verikv check-history FILE` checks a client history for linearizability instead (CheckHistory.ts).
// Deep imports, not the package barrels: the barrels load every module of effect and
// @effect/platform-node, which measured 36 MiB more resident memory for this process.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Command from "effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { startServer, VERSION, type Logger } from "../server/EtcdServer.ts"
import { checkHistoryCommand } from "./CheckHistory.ts"
import { serverFlags, toServerConfig } from "./Flags.ts"

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 } as const

function stderrLogger(minimum: keyof typeof LEVELS): Logger {
  const write = (level: keyof typeof LEVELS, letter: string) => (message: string): void => {
    if (LEVELS[level] < LEVELS[minimum]) return
    process.stderr.write(`${new Date().toISOString()} ${letter} | verikv: ${message}\n`)
  }
  return { debug: write("debug", "D"), info: write("info", "I"), warn: write("warn", "W"), error: write("error", "E") }
}

const verikv = Command.make("verikv", serverFlags, (flags) =>
  Effect.gen(function* () {
    const config = yield* Effect.try(() => toServerConfig(flags))
    const log = stderrLogger(config.logLevel)
    log.info(`verikv ${VERSION}, Node ${process.version}`)
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startServer(config, log),
        catch: (error) => {
          log.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`)
          return error
        },
      }),
      (server) => Effect.promise(() => server.close()),
    )
    // Runs until a signal interrupts it, or until the node fails (a write it cannot make durable).
    const error = yield* Effect.promise(() => server.fatal)
    return yield* Effect.fail(error)
  }).pipe(Effect.scoped)).pipe(Command.withSubcommands([checkHistoryCommand]))

/**
 * SIGINT/SIGTERM end the program by interruption: a clean stop exits 0, as etcd's does. A failure
 * exits 1, unless its error carries its own code (check-history's verdicts).
 */
const teardown = <E, A>(exit: Exit.Exit<A, E>, onExit: (code: number) => void): void =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : Runtime.getErrorExitCode(Cause.squash(exit.cause)))

verikv.pipe(Command.run({ version: VERSION }), Effect.provide(NodeServices.layer), NodeRuntime.runMain({ teardown }))
