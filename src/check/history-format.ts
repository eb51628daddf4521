// The NDJSON history format read by `verikv check-history`: one operation per line, e.g.
//   {"client":1,"type":"put","key":"k","value":"v","invoke":10,"return":12}
//   {"client":2,"type":"get","key":"k","invoke":11,"return":13,"read":"v"}        read: null = absent
//   {"client":3,"type":"delete","key":"k","invoke":14}                            no "return": no reply
//   {"client":4,"type":"cas","key":"k","expected":null,"value":"w","invoke":15,"return":16,"succeeded":true}
//   {"client":5,"type":"txn","compare":[{"key":"a","target":"value","op":"=","value":"x"}],
//    "success":[{"type":"put","key":"a","value":"y"},{"type":"get","key":"b"}],
//    "failure":[{"type":"get","key":"a"}],"invoke":17,"return":19,"succeeded":true,"reads":["v"]}
// (the txn is one line in a file). Compares: target "value" (null = absent) or "version"
// (a non-negative integer), op "=", "!=", "<" or ">". Times are numbers on one clock (any unit).
// Blank lines are skipped.
import type { Command, Compare, CompareOp, History, Operation, Outcome, RegisterValue, TxnRequest } from "./history.ts"

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

const operationFields = new Set([
  "client", "type", "key", "value", "expected", "compare", "success", "failure",
  "invoke", "return", "read", "reads", "succeeded",
])
const compareFields = new Set(["key", "target", "op", "value", "version"])
const requestFields = new Set(["type", "key", "value"])
const compareOps: ReadonlyArray<CompareOp> = ["=", "!=", "<", ">"]

function requireKnownFields(fields: Fields, known: ReadonlySet<string>, where: string): void {
  for (const name of Object.keys(fields)) {
    if (!known.has(name)) throw new Error(`unknown field "${name}"${where}`)
  }
}

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

function requireObjects(fields: Fields, name: string): Array<Fields> {
  const field = fields[name]
  const isObject = (item: unknown): item is Fields => typeof item === "object" && item !== null && !Array.isArray(item)
  if (!Array.isArray(field) || !field.every(isObject)) throw new Error(`"${name}" must be an array of objects`)
  return field
}

function parseCompare(fields: Fields, index: number): Compare {
  const where = ` in compare ${index}`
  requireKnownFields(fields, compareFields, where)
  const key = requireString(fields, "key")
  const op = fields["op"] as CompareOp
  if (!compareOps.includes(op)) throw new Error(`"op" must be one of =, !=, <, >${where}`)
  if (fields["target"] === "version") {
    const version = fields["version"]
    if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0 || "value" in fields) {
      throw new Error(`a version compare needs "version": a non-negative integer (and no "value")${where}`)
    }
    return { key, target: "version", op, version }
  }
  if (fields["target"] !== "value") throw new Error(`"target" must be "value" or "version"${where}`)
  if (!("value" in fields) || "version" in fields) {
    throw new Error(`a value compare needs "value" (and no "version")${where}`)
  }
  const value = requireRegisterValue(fields, "value")
  if (value === null && (op === "<" || op === ">")) throw new Error(`null (absent) compares only with = or !=${where}`)
  return { key, target: "value", op, value }
}

function parseRequest(fields: Fields, where: string): TxnRequest {
  requireKnownFields(fields, requestFields, where)
  const key = requireString(fields, "key")
  switch (fields["type"]) {
    case "put":
      return { type: "put", key, value: requireString(fields, "value") }
    case "get":
    case "delete":
      if ("value" in fields) throw new Error(`unknown field "value"${where}`)
      return { type: fields["type"], key }
    default:
      throw new Error(`"type" must be one of put, get, delete${where}`)
  }
}

function parseCommand(fields: Fields): Command {
  if (fields["type"] === "txn") {
    const branch = (name: string): Array<TxnRequest> =>
      requireObjects(fields, name).map((request, index) => parseRequest(request, ` in ${name} ${index}`))
    const compare = requireObjects(fields, "compare").map(parseCompare)
    return { type: "txn", compare, success: branch("success"), failure: branch("failure") }
  }
  const key = requireString(fields, "key")
  switch (fields["type"]) {
    case "put":
      return { type: "put", key, value: requireString(fields, "value") }
    case "get":
      return { type: "get", key }
    case "delete":
      return { type: "delete", key }
    case "cas":
      return {
        type: "cas", key, expected: requireRegisterValue(fields, "expected"), value: requireString(fields, "value"),
      }
    default:
      throw new Error(`"type" must be one of put, get, delete, cas, txn (got ${JSON.stringify(fields["type"])})`)
  }
}

interface Branches {
  readonly success: ReadonlyArray<TxnRequest>
  readonly failure: ReadonlyArray<TxnRequest>
}

function parseTxnOutcome(fields: Fields, branches: Branches): Outcome {
  const succeeded = fields["succeeded"]
  const reads = fields["reads"]
  if (typeof succeeded !== "boolean") throw new Error(`a txn that returned needs "succeeded": true or false`)
  if (!Array.isArray(reads) || !reads.every((read) => read === null || typeof read === "string")) {
    throw new Error(`a txn that returned needs "reads": an array of strings or nulls (absent)`)
  }
  const gets = (succeeded ? branches.success : branches.failure).filter((request) => request.type === "get").length
  if (reads.length !== gets) {
    const branch = succeeded ? "success" : "failure"
    throw new Error(`"reads" has ${reads.length} values but the ${branch} branch has ${gets} gets`)
  }
  return { type: "txn", succeeded, reads: reads as Array<RegisterValue> }
}

function parseOutcome(fields: Fields, command: Command): Outcome {
  switch (command.type) {
    case "get":
      if (!("read" in fields)) throw new Error(`a get that returned needs "read" (a string, or null for absent)`)
      return { type: "get", read: requireRegisterValue(fields, "read") }
    case "cas":
      if (typeof fields["succeeded"] !== "boolean") {
        throw new Error(`a cas that returned needs "succeeded": true or false`)
      }
      return { type: "cas", succeeded: fields["succeeded"] }
    case "txn":
      return parseTxnOutcome(fields, command)
    default:
      return { type: command.type }
  }
}

function parseFields(fields: Fields): Operation {
  requireKnownFields(fields, operationFields, "")
  const clientId = fields["client"]
  if (typeof clientId !== "number" || !Number.isSafeInteger(clientId) || clientId < 0) {
    throw new Error(`"client" must be a non-negative integer`)
  }
  const command = parseCommand(fields)
  const invokeTime = requireTime(fields, "invoke")
  if (!("return" in fields)) {
    if ("read" in fields || "succeeded" in fields || "reads" in fields) {
      throw new Error(`a result without "return" time`)
    }
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
  const fields: Fields = { client: operation.clientId, ...command }
  fields["invoke"] = operation.invokeTime
  if (completion !== undefined) {
    fields["return"] = completion.returnTime
    const outcome = completion.outcome
    if (outcome.type === "get") fields["read"] = outcome.read
    if (outcome.type === "cas" || outcome.type === "txn") fields["succeeded"] = outcome.succeeded
    if (outcome.type === "txn") fields["reads"] = outcome.reads
  }
  return JSON.stringify(fields)
}

export function formatHistory(history: History): string {
  return history.map((operation) => `${formatOperation(operation)}\n`).join("")
}
