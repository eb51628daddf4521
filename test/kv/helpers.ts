// Shared helpers for the KV core's tests: short request builders and result unwrapping.
import { expect } from "vitest"
import {
  apply, putRequest, rangeRequest, deleteRangeRequest, utf8,
  type KvResult, type KvStore, type PutRequest, type RangeRequest, type DeleteRangeRequest, type KvError,
} from "../../src/kv/index.ts"

export const b = utf8
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

type Ok<T extends KvResult["type"]> = Extract<KvResult, { type: T }> extends { response: infer R } ? R : never

export function ok<T extends Exclude<KvResult["type"], "Error">>(result: KvResult, type: T): Ok<T> {
  if (result.type === "Error") expect.fail(`expected ${type}, got error: ${result.error.message}`)
  expect(result.type).toBe(type)
  return (result as unknown as { response: Ok<T> }).response
}

export function err(result: KvResult): KvError {
  if (result.type !== "Error") expect.fail(`expected an error, got ${result.type}`)
  return result.error
}

export const put = (s: KvStore, key: string, value = "", extra: Partial<PutRequest> = {}) =>
  apply(s, { type: "Put", request: putRequest({ key: b(key), value: b(value), ...extra }) }).result
export const get = (s: KvStore, key: string, extra: Partial<RangeRequest> = {}) =>
  apply(s, { type: "Range", request: rangeRequest({ key: b(key), ...extra }) }).result
export const del = (s: KvStore, key: string, extra: Partial<DeleteRangeRequest> = {}) =>
  apply(s, { type: "DeleteRange", request: deleteRangeRequest({ key: b(key), ...extra }) }).result
export const keysOf = (result: KvResult): string[] => ok(result, "Range").kvs.map((kv) => text(kv.key))
