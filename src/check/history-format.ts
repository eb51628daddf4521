// The NDJSON history format read by `verikv check-history`: one operation per line, e.g.
//   {"client":1,"type":"put","key":"k","value":"v","invoke":10,"return":12}
//   {"client":2,"type":"get","key":"k","invoke":11,"return":13,"read":"v"}        read: null = absent
//   {"client":3,"type":"delete","key":"k","invoke":14}                            no "return": no reply
//   {"client":4,"type":"cas","key":"k","expected":null,"value":"w","invoke":15,"return":16,"succeeded":true}
// Times are numbers on one clock (any unit). Blank lines are skipped.
import type { Command, History, Operation, Outcome, RegisterValue } from "./history.ts"

export class HistoryFormatError extends Error {
  override readonly name = "HistoryFormatError"
  readonly lineNumber: number
  readonly reason: string

  constructor(lineNumber: number, reason: string) {
    super(`line ${lineNumber}: ${reason}`)
    this.lineNumber = lineNumber
    this.reason = reason
  }
}

type Fields = Record<string, unknown>

const knownFields = new Set(["client", "type", "key", "value", "expected", "invoke", "return", "read", "succeeded"])

function requireString(fields: Fields, name: string): string {
  const field = fields[name]
  if (typeof field !== "string") throw new Error(`"${name}" must be a string`)
  return field
}

function requireRegisterValue(fields: Fields, name: string): RegisterValue {
  const field = fields[name]
  if (field !== null && typeof field !== "string") throw new Error(`"${name}" must be a string or null (absent)`)
  return field
}

function requireTime(fields: Fields, name: string): number {
  const field = fields[name]
  if (typeof field !== "number" || !Number.isFinite(field)) throw new Error(`"${name}" must be a finite number`)
  return field
}

function parseCommand(fields: Fields): Command {
  const key = requireString(fields, "key")
  switch (fields["type"]) {
    case "put":
      return { type: "put", key, value: requireString(fields, "value") }
    case "get":
      return { type: "get", key }
    case "delete":
      return { type: "delete", key }
    case "cas":
      return { type: "cas", key, expected: requireRegisterValue(fields, "expected"), value: requireString(fields, "value") }
    default:
      throw new Error(`"type" must be one of put, get, delete, cas (got ${JSON.stringify(fields["type"])})`)
  }
}

function parseOutcome(fields: Fields, command: Command): Outcome {
  switch (command.type) {
    case "get":
      if (!("read" in fields)) throw new Error(`a get that returned needs "read" (a string, or null for absent)`)
      return { type: "get", read: requireRegisterValue(fields, "read") }
    case "cas":
      if (typeof fields["succeeded"] !== "boolean") throw new Error(`a cas that returned needs "succeeded": true or false`)
      return { type: "cas", succeeded: fields["succeeded"] }
    default:
      return { type: command.type }
  }
}

function parseFields(fields: Fields): Operation {
  for (const name of Object.keys(fields)) {
    if (!knownFields.has(name)) throw new Error(`unknown field "${name}"`)
  }
  const clientId = fields["client"]
  if (typeof clientId !== "number" || !Number.isSafeInteger(clientId) || clientId < 0) {
    throw new Error(`"client" must be a non-negative integer`)
  }
  const command = parseCommand(fields)
  const invokeTime = requireTime(fields, "invoke")
  if (!("return" in fields)) {
    if ("read" in fields || "succeeded" in fields) throw new Error(`a result without "return" time`)
    return { clientId, command, invokeTime }
  }
  const returnTime = requireTime(fields, "return")
  if (returnTime < invokeTime) throw new Error(`"return" (${returnTime}) is before "invoke" (${invokeTime})`)
  return { clientId, command, invokeTime, completion: { returnTime, outcome: parseOutcome(fields, command) } }
}

export function parseHistory(text: string): History {
  const operations: Array<Operation> = []
  text.split("\n").forEach((line, index) => {
    const lineNumber = index + 1
    if (line.trim() === "") return
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (error) {
      throw new HistoryFormatError(lineNumber, `not JSON (${(error as Error).message})`)
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new HistoryFormatError(lineNumber, "expected a JSON object")
    }
    try {
      operations.push(parseFields(parsed as Fields))
    } catch (error) {
      throw new HistoryFormatError(lineNumber, (error as Error).message)
    }
  })
  return operations
}

export function formatOperation(operation: Operation): string {
  const { command, completion } = operation
  const fields: Fields = { client: operation.clientId, type: command.type, key: command.key }
  if (command.type === "cas") fields["expected"] = command.expected
  if (command.type === "put" || command.type === "cas") fields["value"] = command.value
  fields["invoke"] = operation.invokeTime
  if (completion !== undefined) {
    fields["return"] = completion.returnTime
    if (completion.outcome.type === "get") fields["read"] = completion.outcome.read
    if (completion.outcome.type === "cas") fields["succeeded"] = completion.outcome.succeeded
  }
  return JSON.stringify(fields)
}

export function formatHistory(history: History): string {
  return history.map((operation) => `${formatOperation(operation)}\n`).join("")
}
