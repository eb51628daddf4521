// The NDJSON history format: round trips, and errors that name the line and the field.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkHistory, formatHistory, HistoryFormatError, parseHistory } from "../../src/check/index.ts"
import { clientsArbitrary, commandArbitrary, simulateStore } from "./generators.ts"

function parseError(text: string): string {
  try {
    parseHistory(text)
  } catch (error) {
    expect(error).toBeInstanceOf(HistoryFormatError)
    return (error as Error).message
  }
  return expect.fail("expected a parse error")
}

describe("history format", () => {
  it("round-trips generated histories", () => {
    fc.assert(fc.property(clientsArbitrary(5, 8, true), (clients) => {
      const history = simulateStore(clients)
      expect(parseHistory(formatHistory(history))).toEqual(history)
    }), { numRuns: 100 })
  })

  it("round-trips generated histories with txns", () => {
    fc.assert(fc.property(clientsArbitrary(5, 8, true, false, commandArbitrary), (clients) => {
      const history = simulateStore(clients)
      expect(parseHistory(formatHistory(history))).toEqual(history)
    }), { numRuns: 100 })
  })

  it("reads the documented txn example", () => {
    const text = `{"client":1,"type":"txn","compare":[{"key":"a","target":"value","op":"=","value":"x"}],` +
      `"success":[{"type":"put","key":"a","value":"y"},{"type":"get","key":"b"}],"failure":[{"type":"get","key":"a"}],` +
      `"invoke":10,"return":12,"succeeded":true,"reads":["v"]}`
    expect(parseHistory(text)).toEqual([{
      clientId: 1,
      command: {
        type: "txn",
        compare: [{ key: "a", target: "value", op: "=", value: "x" }],
        success: [{ type: "put", key: "a", value: "y" }, { type: "get", key: "b" }],
        failure: [{ type: "get", key: "a" }],
      },
      invokeTime: 10,
      completion: { returnTime: 12, outcome: { type: "txn", succeeded: true, reads: ["v"] } },
    }])
  })

  it("names the problem inside a txn", () => {
    const txn = (fields: string): string => `{"client":1,"type":"txn",${fields},"invoke":1}`
    const branches = `"success":[],"failure":[]`
    expect(parseError(txn(`"compare":[{"key":"a","target":"value","op":"<","value":null}],${branches}`))).toBe(
      "line 1: null (absent) compares only with = or != in compare 0")
    expect(parseError(txn(`"compare":[{"key":"a","target":"version","op":"=","version":-1}],${branches}`))).toBe(
      `line 1: a version compare needs "version": a non-negative integer (and no "value") in compare 0`)
    expect(parseError(txn(`"compare":[{"key":"a","target":"mod","op":"=","value":"x"}],${branches}`))).toBe(
      `line 1: "target" must be "value" or "version" in compare 0`)
    expect(parseError(txn(`"compare":[{"key":"a","target":"value","op":"==","value":"x"}],${branches}`))).toBe(
      `line 1: "op" must be one of =, !=, <, > in compare 0`)
    expect(parseError(txn(`"compare":[],"success":[{"type":"range","key":"a"}],"failure":[]`))).toBe(
      `line 1: "type" must be one of put, get, delete in success 0`)
    expect(parseError(txn(`"compare":[],"success":[],"failure":[{"type":"put","key":"a","value":"v","lease":1}]`))).toBe(
      `line 1: unknown field "lease" in failure 0`)
    expect(parseError(txn(`"compare":{},${branches}`))).toBe(`line 1: "compare" must be an array of objects`)
    const done = `"compare":[],"success":[{"type":"get","key":"a"}],"failure":[],"invoke":1,"return":2`
    expect(parseError(`{"client":1,"type":"txn",${done},"succeeded":true,"reads":[]}`)).toBe(
      `line 1: "reads" has 0 values but the success branch has 1 gets`)
    expect(parseError(`{"client":1,"type":"txn",${done},"succeeded":true}`)).toBe(
      `line 1: a txn that returned needs "reads": an array of strings or nulls (absent)`)
    expect(parseError(`{"client":1,"type":"txn",${done},"reads":[null]}`)).toBe(
      `line 1: a txn that returned needs "succeeded": true or false`)
  })

  it("reads the documented example and checks it", () => {
    const text = [
      `{"client":1,"type":"put","key":"k","value":"v","invoke":10,"return":12}`,
      ``,
      `{"client":2,"type":"get","key":"k","invoke":11,"return":13,"read":"v"}`,
      `{"client":3,"type":"delete","key":"k","invoke":14}`,
      `{"client":4,"type":"cas","key":"k","expected":null,"value":"w","invoke":15,"return":16,"succeeded":true}`,
    ].join("\n")
    const history = parseHistory(text)
    expect(history).toHaveLength(4)
    expect(history[2]).toEqual({ clientId: 3, command: { type: "delete", key: "k" }, invokeTime: 14 })
    expect(checkHistory(history, { stepsMax: 1000 }).kind).toBe("linearizable")
  })

  it("names the line and the problem", () => {
    expect(parseError(`{"client":1,"type":"put","key":"k","value":"v","invoke":1}\nnot json`)).toMatch(/^line 2: not JSON/)
    expect(parseError(`[1]`)).toBe("line 1: expected a JSON object")
    expect(parseError(`{"client":1,"type":"inc","key":"k","invoke":1}`)).toBe(
      `line 1: "type" must be one of put, get, delete, cas, txn (got "inc")`)
    expect(parseError(`{"client":1,"type":"get","key":"k","invoke":1,"return":2}`)).toBe(
      `line 1: a get that returned needs "read" (a string, or null for absent)`)
    expect(parseError(`{"client":1,"type":"cas","key":"k","expected":"a","value":"b","invoke":1,"return":2}`)).toBe(
      `line 1: a cas that returned needs "succeeded": true or false`)
    expect(parseError(`{"client":1,"type":"put","key":"k","value":"v","invoke":5,"return":2}`)).toBe(
      `line 1: "return" (2) is before "invoke" (5)`)
    expect(parseError(`{"client":-1,"type":"get","key":"k","invoke":1}`)).toBe(`line 1: "client" must be a non-negative integer`)
    expect(parseError(`{"client":1,"type":"get","key":"k","invoke":1,"read":"v"}`)).toBe(`line 1: a result without "return" time`)
    expect(parseError(`{"client":1,"type":"put","key":"k","value":7,"invoke":1}`)).toBe(`line 1: "value" must be a string`)
    expect(parseError(`{"client":1,"type":"get","key":"k","invoke":1,"rev":3}`)).toBe(`line 1: unknown field "rev"`)
  })
})
