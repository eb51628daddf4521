// The NDJSON history format: round trips, and errors that name the line and the field.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkHistory, formatHistory, HistoryFormatError, parseHistory } from "../../src/check/index.ts"
import { clientsArbitrary, simulateRegister } from "./generators.ts"

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
      const history = simulateRegister(clients)
      expect(parseHistory(formatHistory(history))).toEqual(history)
    }), { numRuns: 100 })
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
      `line 1: "type" must be one of put, get, delete, cas (got "inc")`)
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
