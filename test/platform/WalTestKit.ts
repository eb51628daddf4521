// Shared helpers for the WAL and snapshot tests: temp directories and small entry builders.
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { Config, Entry, HardState } from "../../src/raft/Types.ts"
import { logIndex, nodeId, term } from "../../src/raft/Types.ts"

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "verikv-wal-"))
  try {
    return await run(dir)
  } finally {
    await fsp.rm(dir, { recursive: true, force: true })
  }
}

export function entry(index: number, entryTerm: number, text = `e${index}t${entryTerm}`): Entry {
  return { index: logIndex(index), term: term(entryTerm), type: "Normal", data: new TextEncoder().encode(text), config: undefined }
}

export function configEntry(index: number, entryTerm: number, config: Config): Entry {
  return { index: logIndex(index), term: term(entryTerm), type: "Config", data: new Uint8Array(), config }
}

export const threeVoters: Config = { voters: [nodeId(1), nodeId(2), nodeId(3)], votersOutgoing: [], learners: [] }

export function hardState(currentTerm: number, votedFor: number, commitIndex: number): HardState {
  return { currentTerm: term(currentTerm), votedFor: nodeId(votedFor), commitIndex: logIndex(commitIndex) }
}

export const entries = (from: number, to: number, entryTerm: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, k) => entry(from + k, entryTerm))
