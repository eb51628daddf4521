// The client load of a fault run: concurrent clients, one call in flight each, over a small set of
// keys so that their calls conflict. Each call is put, linearizable get, delete, or CAS (a Txn
// comparing VALUE, or CREATE == 0 for "absent", then put), with a short deadline, recorded with
// its invoke and return times on one clock as a src/check History. A write that errs or times out
// has an unknown outcome: it stays in the history without a completion, and its client retires
// (Jepsen's rule: the call may still take effect, so the next call runs under a new client ID).
// A failed read is dropped. Every value written is unique, so the store's events name their call.
import type { Command, Operation, Outcome, RegisterValue } from "../../../src/check/history.ts"

/** The load's calls: single-key register operations (no multi-key txns). */
type RegisterCommand = Exclude<Command, { readonly type: "txn" }>
import { connectEtcd, type CallOutcome, type EtcdClient, type WireMessage } from "../../support/EtcdClient.ts"
import { delay } from "../../support/EtcdProcess.ts"
import type { Random } from "../Random.ts"

export interface LoadOptions {
  readonly clients: number
  readonly keys: ReadonlyArray<string>
  readonly callDeadlineMs: number
  /** Asked before each call: the client endpoints to spread over (current, running members). */
  readonly endpoints: () => ReadonlyArray<string>
  readonly random: Random
}

export interface RegisterLoad {
  /** Every call so far, in invocation order per client. */
  readonly history: ReadonlyArray<Operation>
  /** Error messages of failed calls, with how often. */
  readonly errors: ReadonlyMap<string, number>
  /** Ends the load once every client's current call has returned or timed out. */
  readonly stop: () => Promise<void>
}

/** Pause after a failed call, so a client facing a dead member does not spin. */
const retryDelayMs = 50
const reconnectBackoffMaxMs = 500

export const clock = (): number => performance.now()

export function startRegisterLoad(options: LoadOptions): RegisterLoad {
  const history: Operation[] = []
  const errors = new Map<string, number>()
  /** The last value each key was seen with, so CAS calls often expect the current value. */
  const lastSeen = new Map<string, RegisterValue>()
  const connections = new Map<string, EtcdClient>()
  const connection = (endpoint: string) => {
    let client = connections.get(endpoint)
    if (client === undefined) {
      client = connectEtcd(endpoint, { callDeadlineMs: options.callDeadlineMs, reconnectBackoffMaxMs })
      connections.set(endpoint, client)
    }
    return client
  }
  let nextClientId = options.clients
  let stopping = false

  const client = async (slot: number) => {
    let clientId = slot
    let target = slot
    for (let seq = 0; !stopping; seq++) {
      const endpoints = options.endpoints()
      const endpoint = endpoints[target % Math.max(1, endpoints.length)]
      if (endpoint === undefined) {
        await delay(retryDelayMs)
        continue
      }
      const command = nextCommand(options.random, options.keys, lastSeen, `${slot}.${seq}`)
      const invokeTime = clock()
      const outcome = await callFor(connection(endpoint), command)
      const returnTime = clock()
      const result = outcome.ok ? outcomeOf(command, outcome.response) : undefined
      if (result !== undefined) {
        history.push({ clientId, command, invokeTime, completion: { returnTime, outcome: result } })
        const seen = valueAfter(command, result)
        if (seen !== undefined) lastSeen.set(command.key, seen)
        continue
      }
      if (!outcome.ok) {
        const kind = errorKind(outcome.message)
        errors.set(kind, (errors.get(kind) ?? 0) + 1)
      }
      if (command.type !== "get") {
        history.push({ clientId, command, invokeTime })
        clientId = nextClientId++
      }
      target++
      await delay(retryDelayMs)
    }
  }
  const done = Promise.all(Array.from({ length: options.clients }, (_, slot) => client(slot)))
  return {
    history,
    errors,
    stop: async () => {
      stopping = true
      await done
      for (const c of connections.values()) c.close()
    },
  }
}

/** grpc-js appends timings and addresses to its messages; the kind is what comes before. */
function errorKind(message: string): string {
  return message.replace(/ after \d.*$/, "").split(". ")[0]!
}

function nextCommand(random: Random, keys: ReadonlyArray<string>, lastSeen: ReadonlyMap<string, RegisterValue>, label: string): RegisterCommand {
  const key = random.pick(keys)
  const value = `v${label}`
  switch (random.weighted({ get: 4, put: 3, cas: 3, delete: 1 })) {
    case "get":
      return { type: "get", key }
    case "put":
      return { type: "put", key, value }
    case "delete":
      return { type: "delete", key }
    case "cas":
      return { type: "cas", key, expected: random.chance(0.2) ? null : (lastSeen.get(key) ?? null), value }
  }
}

/** What a successful call returned, in the checker's terms; undefined if the reply makes no sense. */
function outcomeOf(command: RegisterCommand, response: WireMessage): Outcome | undefined {
  switch (command.type) {
    case "get": {
      const kvs = response.kvs as ReadonlyArray<WireMessage>
      return { type: "get", read: kvs.length === 0 ? null : (kvs[0]!.value as Buffer).toString() }
    }
    case "cas":
      return { type: "cas", succeeded: response.succeeded === true }
    case "put":
      return { type: "put" }
    case "delete":
      return { type: "delete" }
  }
}

/** The key's value right after a successful call; undefined when a failed CAS leaves it unknown. */
function valueAfter(command: RegisterCommand, outcome: Outcome): RegisterValue | undefined {
  if (outcome.type === "get") return outcome.read
  if (command.type === "put") return command.value
  if (command.type === "delete") return null
  return command.type === "cas" && outcome.type === "cas" && outcome.succeeded ? command.value : undefined
}

export function callFor(client: EtcdClient, command: RegisterCommand): Promise<CallOutcome> {
  const key = Buffer.from(command.key)
  switch (command.type) {
    case "get":
      return client.call("KV", "Range", { key })
    case "put":
      return client.call("KV", "Put", { key, value: Buffer.from(command.value) })
    case "delete":
      return client.call("KV", "DeleteRange", { key })
    case "cas": {
      const compare = command.expected === null
        ? { result: 0, target: 1, key, createRevision: 0 } // CREATE == 0: the key is absent
        : { result: 0, target: 3, key, value: Buffer.from(command.expected) } // VALUE == expected
      return client.call("KV", "Txn", {
        compare: [compare],
        success: [{ requestPut: { key, value: Buffer.from(command.value) } }],
        failure: [],
      })
    }
  }
}
