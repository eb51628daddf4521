// Joining a running cluster (--initial-cluster-state existing, after `member add`): the new member
// cannot derive the cluster ID or its own member ID (member add chose it), so it asks the peers
// named in --initial-cluster for the cluster's description, checks that --initial-cluster matches
// the cluster's current members (etcd's checks and errors), and takes its identity from there.
import type { ClusterInfo, ClusterInfoMember } from "../platform/transport/ClusterInfo.ts"
import { parseInitialCluster, type Identity } from "./Identity.ts"

export type FetchClusterInfo = (peerUrl: string) => Promise<ClusterInfo>

const sameUrls = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join()

export async function joinExistingCluster(
  name: string,
  initialCluster: string,
  fetchInfo: FetchClusterInfo,
  log: (message: string) => void,
): Promise<Identity> {
  const initial = parseInitialCluster(initialCluster)
  const self = initial.find((m) => m.name === name)
  if (self === undefined) throw new Error(`couldn't find local name "${name}" in the initial cluster configuration`)
  const peerUrls = initial.filter((m) => m !== self).flatMap((m) => m.peerUrls)
  let info: ClusterInfo | undefined
  for (const url of peerUrls) {
    try {
      info = await fetchInfo(url)
      log(`joining: cluster ${info.clusterId.toString(16)} described by ${url}`)
      break
    } catch (error) {
      log(`joining: could not get the cluster from ${url}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  if (info === undefined) {
    throw new Error("cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs")
  }
  const current = info.currentMembers
  if (current.length !== initial.length) {
    throw new Error(`error validating peerURLs: member count is unequal (the cluster has ${current.length} members, --initial-cluster names ${initial.length}; was this member added with \`member add\`?)`)
  }
  for (const member of initial) {
    if (!current.some((c) => sameUrls(c.peerUrls, member.peerUrls))) {
      throw new Error(`error validating peerURLs: unmatched member while checking PeerURLs (${member.name}=${member.peerUrls.join(",")} is not a member of the cluster)`)
    }
  }
  const found: ClusterInfoMember | undefined = current.find((c) => sameUrls(c.peerUrls, self.peerUrls))
  if (found === undefined) throw new Error("error validating peerURLs: this member is not a member of the cluster")
  // A member that published its name has started before: its data is somewhere else, not here.
  if (found.name !== "") throw new Error(`member ${found.id.toString(16)} has already been bootstrapped`)
  const strip = (m: ClusterInfoMember) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls })
  return {
    memberId: found.id,
    clusterId: info.clusterId,
    members: info.bootstrapMembers.map(strip),
    joinedWith: current.map(strip),
  }
}
