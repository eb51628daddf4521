// Member and cluster IDs. Derived as etcd derives them (the first 8 bytes, big-endian, of a SHA-1:
// of the member's peer URLs and the cluster token for a member; of the sorted member IDs for the
// cluster), then stored in the data dir at bootstrap so they never change with later flags.
import { createHash } from "node:crypto"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { fsyncDirectory } from "../platform/wal/DurableFs.ts"
import type { NodeId } from "../raft/Types.ts"

export interface InitialMember {
  readonly name: string
  readonly peerUrls: ReadonlyArray<string>
}

export interface Identity {
  readonly memberId: bigint
  readonly clusterId: bigint
  /**
   * The members the cluster was bootstrapped with (every log starts from their configuration);
   * for a member that joined later, as the cluster told it, so it does not include itself.
   */
  readonly members: ReadonlyArray<IdentifiedMember>
  /** A joined member: the cluster's members when it joined (its peers until its log catches up). */
  readonly joinedWith?: ReadonlyArray<IdentifiedMember> | undefined
}

export interface IdentifiedMember {
  readonly id: bigint
  readonly name: string
  readonly peerUrls: ReadonlyArray<string>
}

function first8Bytes(digest: Buffer): bigint {
  return digest.readBigUInt64BE(0)
}

export function computeMemberId(peerUrls: ReadonlyArray<string>, clusterToken: string): bigint {
  const sorted = [...peerUrls].sort()
  return first8Bytes(createHash("sha1").update(sorted.join("") + clusterToken).digest())
}

export function computeClusterId(memberIds: ReadonlyArray<bigint>): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const bytes = Buffer.alloc(8 * sorted.length)
  sorted.forEach((id, k) => bytes.writeBigUInt64BE(id, 8 * k))
  return first8Bytes(createHash("sha1").update(bytes).digest())
}

/** "a=http://h:1,b=http://h:2,a=http://h:3" -> members with their URLs, in order of first mention. */
export function parseInitialCluster(initialCluster: string): ReadonlyArray<InitialMember> {
  const byName = new Map<string, Array<string>>()
  for (const part of initialCluster.split(",")) {
    const trimmed = part.trim()
    if (trimmed === "") continue
    const at = trimmed.indexOf("=")
    if (at <= 0 || at === trimmed.length - 1) throw new Error(`--initial-cluster: "${trimmed}" is not name=url`)
    const name = trimmed.slice(0, at)
    const urls = byName.get(name) ?? []
    urls.push(trimmed.slice(at + 1))
    byName.set(name, urls)
  }
  if (byName.size === 0) throw new Error("--initial-cluster is empty")
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls }))
}

/**
 * Raft's node ID for a member: the member ID's top 52 bits, so it is a safe integer (member IDs
 * are random-looking SHA-1 prefixes, so the top bits are as unique as the whole).
 */
export function raftIdOf(memberId: bigint): NodeId {
  return Number(memberId >> 12n) as NodeId
}

const IDENTITY_FILE = "identity.json"

type StoredMember = { id: string; name: string; peerUrls: string[] }
const toStored = (m: IdentifiedMember): StoredMember => ({ id: String(m.id), name: m.name, peerUrls: [...m.peerUrls] })
const fromStored = (m: StoredMember): IdentifiedMember => ({ ...m, id: BigInt(m.id) })

/**
 * Reads the stored identity, or makes one and stores it: a new member of a new cluster derives it
 * from the flags; a member joining an existing cluster (`join`) learns it from its peers.
 */
export async function loadOrCreateIdentity(
  memberDir: string,
  name: string,
  initialCluster: string,
  clusterToken: string,
  join?: () => Promise<Identity>,
): Promise<Identity> {
  const file = path.join(memberDir, IDENTITY_FILE)
  try {
    const stored = JSON.parse(await fsp.readFile(file, "utf8")) as {
      memberId: string; clusterId: string; members: StoredMember[]; joinedWith?: StoredMember[]
    }
    return {
      memberId: BigInt(stored.memberId),
      clusterId: BigInt(stored.clusterId),
      members: stored.members.map(fromStored),
      ...(stored.joinedWith !== undefined && { joinedWith: stored.joinedWith.map(fromStored) }),
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error
  }
  const identity = join !== undefined ? await join() : bootstrapIdentity(name, initialCluster, clusterToken)
  await storeIdentity(memberDir, file, identity)
  return identity
}

function bootstrapIdentity(name: string, initialCluster: string, clusterToken: string): Identity {
  const initial = parseInitialCluster(initialCluster)
  const members = initial.map((m) => ({ id: computeMemberId(m.peerUrls, clusterToken), name: m.name, peerUrls: m.peerUrls }))
  const self = members.find((m) => m.name === name)
  if (self === undefined) throw new Error(`couldn't find local name "${name}" in the initial cluster configuration`)
  return { memberId: self.id, clusterId: computeClusterId(members.map((m) => m.id)), members }
}

async function storeIdentity(memberDir: string, file: string, identity: Identity): Promise<void> {
  await fsp.mkdir(memberDir, { recursive: true })
  const json = JSON.stringify({
    memberId: String(identity.memberId),
    clusterId: String(identity.clusterId),
    members: identity.members.map(toStored),
    ...(identity.joinedWith !== undefined && { joinedWith: identity.joinedWith.map(toStored) }),
  })
  const temp = `${file}.tmp`
  const handle = await fsp.open(temp, "w")
  try {
    await handle.writeFile(json)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fsp.rename(temp, file)
  await fsyncDirectory(memberDir)
}
