// The snapshot file format: the KV state at a log index with the Raft metadata, checksummed.
//
//   0  8 B  magic "VKVSNAP1"
//   8  u32  crc32c of bytes [12, end)
//  12  u32  format version
//  16  u64  index        24  u64  term
//  32  u32  config length, then the config (as in WAL entries)
//   …  u64  data length, then the data (opaque application state)
import type { Snapshot, SnapshotMeta } from "../../raft/Types.ts"
import { logIndex, term } from "../../raft/Types.ts"
import { crc32c } from "../wal/Crc32c.ts"
import { configBytes, readConfig, readU64, writeConfig, writeU64 } from "../wal/RecordCodec.ts"

const magic = new TextEncoder().encode("VKVSNAP1")
const snapshotFormatVersion = 1
const fixedBytes = 36

/** The bytes before the data, and the checksum over header and data together. */
export function encodeSnapshotHeader(snapshot: Snapshot): Uint8Array {
  const { meta, data } = snapshot
  const configLength = configBytes(meta.config)
  const header = new Uint8Array(fixedBytes + configLength + 8)
  const view = new DataView(header.buffer)
  header.set(magic, 0)
  view.setUint32(12, snapshotFormatVersion, true)
  writeU64(view, 16, meta.index)
  writeU64(view, 24, meta.term)
  view.setUint32(32, configLength, true)
  writeConfig(view, fixedBytes, meta.config)
  writeU64(view, fixedBytes + configLength, data.length)
  view.setUint32(8, crc32c(data, crc32c(header, 0, 12)), true)
  return header
}

/** Decodes and verifies a snapshot file; returns why it is unusable instead of throwing. */
export function decodeSnapshotFile(bytes: Uint8Array): Snapshot | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < fixedBytes + 8) return "file too short"
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return "not a snapshot file"
  if (crc32c(bytes, 0, 12) !== view.getUint32(8, true)) return "checksum mismatch"
  if (view.getUint32(12, true) !== snapshotFormatVersion) return "unknown format version"
  const configLength = view.getUint32(32, true)
  const dataLengthAt = fixedBytes + configLength
  if (dataLengthAt + 8 > bytes.length) return "config beyond the end of the file"
  const [config, configEnd] = readConfig(view, fixedBytes, dataLengthAt)
  if (configEnd !== dataLengthAt) return "config length mismatch"
  const dataLength = readU64(view, dataLengthAt)
  if (dataLengthAt + 8 + dataLength !== bytes.length) return "data length mismatch"
  const index = logIndex(readU64(view, 16))
  const meta: SnapshotMeta = { index, term: term(readU64(view, 24)), config }
  const dataStart = bytes.byteOffset + dataLengthAt + 8
  return { meta, data: new Uint8Array(bytes.buffer, dataStart, dataLength) }
}
