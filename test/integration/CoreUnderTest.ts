// The KV core as the differential suite drives it, and deliberately broken variants of it that
// the suite must tell apart from etcd (its teeth).
import {
  apply,
  hashKV,
  leaseLeases,
  leaseTimeToLive,
  newStore,
  SortOrder,
  type Compare,
  type KvBugName,
  type KvCommand,
  type KvResult,
  type RequestOp,
  type TxnRequest,
} from "../../src/kv/index.ts"
import type { KvUnderTest } from "./Differential.ts"
import { maxTxnOps } from "./OpGenerator.ts"

/** A fresh core with etcd 3.4's default configuration (the suite's etcd runs with its defaults). */
export function freshCore(bugs: ReadonlyArray<KvBugName> = []): KvUnderTest {
  const store = newStore({ maxTxnOps, bugs: new Set(bugs) })
  return {
    apply: (command) => apply(store, command).result,
    leaseTimeToLive: (request, remainingSeconds) => leaseTimeToLive(store, request, remainingSeconds),
    leaseLeases: () => leaseLeases(store),
    hashKV: (revision) => hashKV(store, revision),
  }
}

/** Bugs planted from outside the core, by rewriting what goes in or comes out. */
export const wrapperBugs = {
  /** Every returned key-value claims one version more than it has. */
  VersionOffByOne: (core: KvUnderTest): KvUnderTest => ({
    ...core,
    apply: (command) => bumpVersions(core.apply(command)),
  }),
  /** A Txn treats NOT_EQUAL as EQUAL. */
  NotEqualAsEqual: (core: KvUnderTest): KvUnderTest => ({
    ...core,
    apply: (command) => core.apply(command.type === "Txn" ? { type: "Txn", request: notEqualAsEqual(command.request) } : command),
  }),
  /** Put forgets prev_kv. */
  PutDropsPrevKv: (core: KvUnderTest): KvUnderTest => ({
    ...core,
    apply: (command: KvCommand): KvResult => {
      const result = core.apply(command)
      return result.type === "Put" ? { type: "Put", response: { ...result.response, prevKv: undefined } } : result
    },
  }),
  /** A Range asked for descending order gets ascending order. */
  DescendAsAscend: (core: KvUnderTest): KvUnderTest => ({
    ...core,
    apply: (command) =>
      core.apply(
        command.type === "Range" && command.request.sortOrder === SortOrder.DESCEND
          ? { type: "Range", request: { ...command.request, sortOrder: SortOrder.ASCEND } }
          : command,
      ),
  }),
  /** LeaseTimeToLive never lists the attached keys. */
  TimeToLiveWithoutKeys: (core: KvUnderTest): KvUnderTest => ({
    ...core,
    leaseTimeToLive: (request, remainingSeconds) => ({ ...core.leaseTimeToLive(request, remainingSeconds), keys: [] }),
  }),
  /** HashKV flips the lowest bit of the hash. */
  HashBitFlipped: (core: KvUnderTest): KvUnderTest => ({
    ...core,
    hashKV: (revision) => {
      const hashed = core.hashKV(revision)
      return hashed.type === "HashKV" ? { ...hashed, response: { ...hashed.response, hash: hashed.response.hash ^ 1 } } : hashed
    },
  }),
} as const

export type WrapperBugName = keyof typeof wrapperBugs

function bumpVersions(result: KvResult): KvResult {
  if (result.type !== "Range") return result
  const kvs = result.response.kvs.map((kv) => ({ ...kv, version: kv.version + 1 }))
  return { type: "Range", response: { ...result.response, kvs } }
}

function notEqualAsEqual(request: TxnRequest): TxnRequest {
  const compare = request.compare.map((c): Compare => (c.result === 3 ? { ...c, result: 0 } : c))
  const rewrite = (op: RequestOp): RequestOp => (op.type === "Txn" ? { type: "Txn", request: notEqualAsEqual(op.request) } : op)
  return { compare, success: request.success.map(rewrite), failure: request.failure.map(rewrite) }
}
