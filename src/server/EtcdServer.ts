// A verikv member: recovery from disk, the node loop, and etcd's gRPC API on the client URLs.
import { createHash, randomInt } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as tls from "node:tls"
import { performance } from "node:perf_hooks"
import type { Event, KvCommand, KvResult, RangeRequest, TxnRequest } from "../kv/Api.ts"
import { crc32c, hashKV, leaseLeases, leaseTimeToLive, minLeaseTtlSeconds, range, validateCommand } from "../kv/index.ts"
import type { Header } from "../platform/grpc/codec/KvCodec.ts"
import { AlarmAction, AlarmType } from "../platform/grpc/codec/MaintenanceCodec.ts"
import { fetchClusterInfo } from "../platform/transport/ClusterInfo.ts"
import { loadPeerTls } from "../platform/transport/PeerTls.ts"
import { GrpcConnections, type Method } from "../platform/grpc/Server.ts"
import { kvMethods } from "../platform/grpc/services/KvService.ts"
import { leaseMethods } from "../platform/grpc/services/LeaseService.ts"
import { clusterMethods } from "../platform/grpc/services/ClusterService.ts"
import { maintenanceMethods } from "../platform/grpc/services/MaintenanceService.ts"
import { watchMethods } from "../platform/grpc/services/WatchService.ts"
import { GrpcError, Status } from "../platform/grpc/Status.ts"
import type { RaftOptions } from "../raft/Api.ts"
import type { NodeId } from "../raft/Types.ts"
import { type ServerConfig, type TlsFiles, DEFAULT_QUOTA_BACKEND_BYTES, GRPC_OVERHEAD_BYTES } from "./Config.ts"
import { AutoCompactor, parseCompactionPolicy } from "./AutoCompactor.ts"
import { openDisk } from "./DiskStorage.ts"
import { PeerLink } from "./PeerLink.ts"
import { encodeAlarmEntry, encodeKvEntry, encodePublishEntry, type AlarmChange } from "./EntryData.ts"
import { loadOrCreateIdentity, raftIdOf, type Identity } from "./Identity.ts"
import { joinExistingCluster } from "./Join.ts"
import { type Member, Members } from "./Members.ts"
import { Membership } from "./Membership.ts"
import { proposeKv, ServerMachine, type AlarmMember } from "./ServerMachine.ts"
import { LeaseClock } from "./LeaseClock.ts"
import { RaftNode, RequestTimeoutError } from "./RaftNode.ts"
import { TraceFile } from "./TraceFile.ts"
import { WatchHub } from "./WatchHub.ts"

export const VERSION = "3.4.0-verikv.0.1.0"

export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export interface RunningServer {
  readonly identity: Identity
  /** The client URLs actually bound (a port 0 in the flags is resolved). */
  readonly clientUrls: ReadonlyArray<string>
  readonly node: RaftNode
  readonly machine: ServerMachine
  /** Settles (never rejects) with the error that stopped the node, if one ever does. */
  readonly fatal: Promise<Error>
  close(): Promise<void>
}

/** Expired leases revoked per tick at most (etcd rate-limits revokes too). */
const LEASE_REVOKES_PER_TICK_MAX = 64
/** etcd's default interval for progress notifications to idle watchers that asked for them. */
const WATCH_PROGRESS_INTERVAL_MS = 10 * 60 * 1000

/** A server-chosen lease ID: positive int64, not in use. */
function freshLeaseIdFrom(inUse: (id: bigint) => boolean): bigint {
  for (;;) {
    const id = BigInt.asUintN(63, (BigInt(randomInt(2 ** 47)) << 16n) ^ BigInt(randomInt(2 ** 47)))
    if (id !== 0n && !inUse(id)) return id
  }
}

/** How long a joining member waits for each listed peer to describe the cluster. */
const JOIN_FETCH_TIMEOUT_MS = 3000
/** A removed member stops this many heartbeats after it applied its removal (as etcd: 10 ticks). */
const REMOVED_STOP_HEARTBEATS = 10
const ERR_REMOVED = "the member has been permanently removed from the cluster"
const ERR_TOO_LARGE = "etcdserver: request is too large"
const ERR_NO_SPACE = "etcdserver: mvcc: database space exceeded"
const NOSPACE = AlarmType.NOSPACE

/** An alarm as etcd's status errors and etcdctl name it. */
function alarmName(alarm: number): string {
  return alarm === AlarmType.NOSPACE ? "NOSPACE" : alarm === AlarmType.CORRUPT ? "CORRUPT" : String(alarm)
}

function toGrpcError(error: unknown): GrpcError {
  if (error instanceof GrpcError) return error
  if (error instanceof RequestTimeoutError) return new GrpcError(Status.UNAVAILABLE, error.message)
  return new GrpcError(Status.UNAVAILABLE, error instanceof Error ? error.message : String(error))
}

function rejectAsGrpcError(error: unknown): never {
  throw toGrpcError(error)
}

/** Ranges and Txns made only of ranges: etcd serves them without a Raft entry. */
function isRead(command: KvCommand): boolean {
  const txnReads = (txn: TxnRequest): boolean =>
    [...txn.success, ...txn.failure].every((op) => op.type === "Range" || (op.type === "Txn" && txnReads(op.request)))
  return command.type === "Range" || (command.type === "Txn" && txnReads(command.request))
}

/** Commands that add data, refused while the NOSPACE alarm is raised (etcd's quota check). */
function addsData(command: KvCommand): boolean {
  const txnAddsData = (txn: TxnRequest): boolean =>
    [...txn.success, ...txn.failure].some((op) => op.type === "Put" || (op.type === "Txn" && txnAddsData(op.request)))
  return command.type === "Put" || command.type === "LeaseGrant" || (command.type === "Txn" && txnAddsData(command.request))
}

/**
 * What Maintenance.Snapshot streams: the store snapshot padded to whole 512-byte sectors, then its
 * SHA-256, the shape etcdctl checks before it keeps the file (etcd's blob is a bolt file + hash).
 */
function snapshotBlob(store: Uint8Array): Uint8Array {
  const paddedBytes = Math.ceil(store.length / 512) * 512
  const blob = new Uint8Array(paddedBytes + 32)
  blob.set(store)
  blob.set(createHash("sha256").update(blob.subarray(0, paddedBytes)).digest(), paddedBytes)
  return blob
}

/**
 * The listening socket for one client URL: plain for http://, TLS for https:// (as etcd: a https
 * URL needs --cert-file and --key-file; --client-cert-auth requires a client certificate that
 * chains to --trusted-ca-file, and a connection without one is refused during the handshake).
 * Either way every accepted socket speaks HTTP/2 through `connections`.
 */
function createClientServer(url: URL, files: TlsFiles | undefined, connections: GrpcConnections, log: Logger): net.Server {
  if (url.protocol === "http:") return net.createServer(connections.accept)
  if (url.protocol !== "https:") throw new Error(`unsupported URL scheme in ${url.href} (use http:// or https://)`)
  if (files === undefined) throw new Error(`${url.href}: https needs --cert-file and --key-file`)
  const server = tls.createServer({
    cert: fs.readFileSync(files.certFile),
    key: fs.readFileSync(files.keyFile),
    ...(files.trustedCaFile !== "" && { ca: fs.readFileSync(files.trustedCaFile) }),
    requestCert: files.clientCertAuth,
    rejectUnauthorized: files.clientCertAuth,
    ALPNProtocols: ["h2"],
  })
  server.on("secureConnection", connections.accept)
  server.on("tlsClientError", (error) => log.warn(`rejected client TLS connection: ${error.message}`))
  return server
}

export async function startServer(config: ServerConfig, log: Logger): Promise<RunningServer> {
  const compactionPolicy = parseCompactionPolicy(config.autoCompactionMode, config.autoCompactionRetention)
  const memberDir = path.join(config.dataDir, "member")
  fs.mkdirSync(memberDir, { recursive: true })
  // Joining a running cluster: the peers say who it is (used only while no identity is stored).
  const join = config.initialClusterState === "existing"
    ? () => {
      const clientTls = config.peerTls === undefined ? undefined : loadPeerTls(config.peerTls, JOIN_FETCH_TIMEOUT_MS).client
      const fetchInfo = (url: string) => fetchClusterInfo(url, clientTls, JOIN_FETCH_TIMEOUT_MS)
      return joinExistingCluster(config.name, config.initialCluster, fetchInfo, (m) => log.info(m))
    }
    : undefined
  const identity = await loadOrCreateIdentity(memberDir, config.name, config.initialCluster, config.initialClusterToken, join)
  const selfId = raftIdOf(identity.memberId)
  // The configuration every member's log starts from (a joined member is not in it).
  const voters = identity.members.map((m) => raftIdOf(m.id)).sort((a, b) => a - b) as NodeId[]
  const loneVoter = voters.length === 1 && voters[0] === selfId
  const disk = await openDisk(config.dataDir, { voters, votersOutgoing: [], learners: [] }, (m) => log.warn(m))
  const electionTicks = Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs))
  const machine = new ServerMachine({
    minLeaseTtlSeconds: minLeaseTtlSeconds(electionTicks, config.heartbeatIntervalMs),
    maxTxnOps: config.maxTxnOps,
  }, Members.bootstrap(identity.members))
  const peers = new PeerLink({
    clusterId: identity.clusterId,
    memberId: identity.memberId,
    members: () => machine.members,
    joinedWith: identity.joinedWith,
    clusterInfo: () => ({
      clusterId: identity.clusterId,
      bootstrapMembers: identity.members.map((m) => ({ ...m, isLearner: false })),
      currentMembers: machine.members.list(),
    }),
    tls: config.peerTls,
    logger: log,
  })
  // --experimental-trace-file: without it no trace callback is set, and tracing costs nothing.
  const traceFile = config.experimentalTraceFile === "" ? undefined : new TraceFile(config.experimentalTraceFile)
  const raftOptions: RaftOptions = {
    id: selfId,
    electionTimeoutTicks: electionTicks,
    heartbeatTimeoutTicks: 1,
    preVote: true,
    checkQuorum: true,
    appendEntriesCountMax: 1024,
    inflightCountMax: 256,
    seed: randomInt(2 ** 31),
    ...(traceFile === undefined ? {} : { trace: traceFile.core }),
  }
  traceFile?.start(raftOptions, disk.raftStorage)
  const node = new RaftNode(
    {
      raft: raftOptions,
      snapshotCount: config.snapshotCount,
      requestTimeoutMs: 5000 + 2 * config.electionTimeoutMs,
      nowMs: () => performance.now(),
      ...(traceFile === undefined ? {} : { trace: traceFile.loop }),
    },
    disk.raftStorage,
    disk.storage,
    peers,
    machine,
  )
  peers.attach(node)
  for (const url of config.listenPeerUrls) {
    const parsed = new URL(url)
    const bound = await peers.transport.listen(parsed.hostname.replace(/^\[|\]$/g, ""), Number(parsed.port || 2380))
    log.info(`listening for peers on ${parsed.protocol}//${bound.host}:${bound.port}`)
  }
  let fatal: Error | undefined
  let reportFatal: (error: Error) => void = () => {}
  const fatalPromise = new Promise<Error>((resolve) => (reportFatal = resolve))
  const stopFatally = (error: Error) => {
    if (fatal !== undefined) return
    fatal = error
    log.error(`stopping: ${error.message}`)
    reportFatal(error)
  }
  node.onFatal = stopFatally
  node.onSnapshotInstalled = (index) => log.info(`installed a snapshot from the leader at index ${index}`)
  // A removed member stops (after a few heartbeats, so that a removed leader can still tell the
  // others its removal is committed); a peer that refuses us as removed stops us at once.
  let removalNoticed = false
  const noticeMembers = () => {
    peers.syncPeers()
    if (removalNoticed || !machine.members.isRemoved(identity.memberId)) return
    removalNoticed = true
    log.warn(ERR_REMOVED)
    setTimeout(() => stopFatally(new Error(ERR_REMOVED)), REMOVED_STOP_HEARTBEATS * config.heartbeatIntervalMs).unref()
  }
  machine.onMembersChanged = noticeMembers
  noticeMembers()
  peers.transport.onRemovedFromCluster = (by) => {
    log.warn(`member ${by.toString(16)} says this member was removed from the cluster`)
    stopFatally(new Error(ERR_REMOVED))
  }
  const hub = new WatchHub(() => machine.store)
  // Watchers hear of the revisions a turn applied right after that turn, so the writers' answers
  // (settled during the turn) leave before the fan-out to every watcher (etcd's watch delivery
  // is asynchronous as well). A watcher created in between already has the revision from its
  // catch-up, and delivery skips what a watcher has seen.
  let unpublished: Array<ReadonlyArray<Event>> = []
  const publishApplied = () => {
    const revisions = unpublished
    unpublished = []
    for (const events of revisions) hub.publish(events)
  }
  node.onEvents = (events) => {
    if (unpublished.push(events) === 1) setImmediate(publishApplied)
  }
  const leaseClock = new LeaseClock()
  machine.onKvApplied = (command, result) => {
    if (result.type === "LeaseGrant") leaseClock.granted(result.response.id, result.response.ttl, performance.now())
    else if (command.type === "LeaseRevoke") leaseClock.revoked(command.request.id)
  }
  const recoveredCommit = disk.raftStorage.hardState.commitIndex
  // A lone voter need not wait out an election timeout to lead, and once it leads its whole log
  // is committed: wait for that, so that even serializable reads see every acknowledged write.
  if (loneVoter) node.push({ type: "Hup" })
  const caughtUp = loneVoter ? node.lastIndex : recoveredCommit
  const failed = fatalPromise.then((error) => Promise.reject(error))
  await Promise.race([node.whenApplied(caughtUp), failed])

  const compactor = new AutoCompactor(compactionPolicy, performance.now())
  let autoCompacting = false
  let leading = false
  const ticker = setInterval(() => {
    node.push({ type: "Tick" })
    node.expireRequests()
    const now = performance.now()
    if (node.role !== "Leader") {
      leading = false
      return
    }
    if (!leading) {
      leading = true
      leaseClock.promote(machine.store.leases.values(), now, config.electionTimeoutMs)
    }
    const compactTo = autoCompacting ? undefined : compactor.poll(now, machine.store.currentRevision)
    if (compactTo !== undefined && compactTo > machine.store.compactRevision) {
      autoCompacting = true
      proposeKv(node, { type: "Compaction", request: { revision: compactTo, physical: false } }).then(
        (result) => {
          log.info(`auto compaction to revision ${compactTo}: ${result.type === "Error" ? result.error.message : "done"}`)
          compactor.compacted(compactTo, performance.now())
        },
        (error: unknown) => log.warn(`auto compaction to revision ${compactTo} failed: ${String(error)}`),
      ).finally(() => (autoCompacting = false))
    }
    for (const id of leaseClock.takeExpired(now, LEASE_REVOKES_PER_TICK_MAX)) {
      proposeKv(node, { type: "LeaseRevoke", request: { id } }).then(
        (result) => {
          if (result.type === "Error") leaseClock.revoked(id) // already gone
        },
        () => leaseClock.revokeFailed(id),
      )
    }
  }, config.heartbeatIntervalMs)
  const progressTimer = setInterval(() => hub.notifyProgress(), WATCH_PROGRESS_INTERVAL_MS)

  const quotaBytes = config.quotaBackendBytes > 0 ? config.quotaBackendBytes : DEFAULT_QUOTA_BACKEND_BYTES
  /** Proposes an alarm change through Raft; resolves with what applying it answered. */
  const proposeAlarm = (change: AlarmChange): Promise<ReadonlyArray<AlarmMember>> => {
    if (fatal !== undefined) return Promise.reject(new GrpcError(Status.UNAVAILABLE, fatal.message))
    const requestId = node.newRequestId()
    return (node.propose(requestId, encodeAlarmEntry(requestId, change)) as Promise<ReadonlyArray<AlarmMember>>).then(undefined, rejectAsGrpcError)
  }
  /** As etcd: past the quota a write is refused at once, and NOSPACE is raised for the cluster once. */
  let raisingNoSpace = false
  const raiseNoSpace = (): void => {
    if (raisingNoSpace) return
    raisingNoSpace = true
    proposeAlarm({ action: AlarmAction.ACTIVATE, memberId: identity.memberId, alarm: NOSPACE })
      .catch((error: unknown) => log.warn(`raising the NOSPACE alarm: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => (raisingNoSpace = false))
  }
  const header = (revision?: number): Header => ({
    clusterId: identity.clusterId,
    memberId: identity.memberId,
    revision: revision ?? machine.store.currentRevision,
    raftTerm: node.term,
  })

  /** Not async: on the put path an async frame and its awaits cost more than the one `then`. */
  function propose(command: KvCommand): Promise<KvResult> {
    if (fatal !== undefined) return Promise.reject(new GrpcError(Status.UNAVAILABLE, fatal.message))
    if (addsData(command)) {
      const overQuota = machine.dbSizeBytes > quotaBytes
      const noSpace = machine.hasAlarm(NOSPACE)
      if (overQuota && !noSpace) raiseNoSpace()
      if (overQuota || noSpace) return Promise.reject(new GrpcError(Status.RESOURCE_EXHAUSTED, ERR_NO_SPACE))
    }
    const requestId = node.newRequestId()
    const data = encodeKvEntry(requestId, command)
    // etcd refuses a proposal whose Raft entry exceeds --max-request-bytes with its own error
    // (gRPC accepts 512 KiB more, so this error, not gRPC's, is what a client sees). Reads,
    // including read-only Txns, do not go through the log in etcd and are not limited.
    if (data.length > config.maxRequestBytes && !isRead(command)) {
      return Promise.reject(new GrpcError(Status.INVALID_ARGUMENT, ERR_TOO_LARGE))
    }
    return (node.propose(requestId, data) as Promise<KvResult>).then(undefined, rejectAsGrpcError)
  }

  const membership = new Membership(node, machine, config.initialClusterToken)
  /** etcd's MoveLeader: only the leader moves leadership, to a voting member, within a timeout. */
  const moveLeader = async (target: bigint): Promise<void> => {
    if (node.role !== "Leader") throw new GrpcError(Status.FAILED_PRECONDITION, "etcdserver: not leader")
    const member = machine.members.get(target)
    if (member === undefined || member.isLearner) throw new GrpcError(Status.FAILED_PRECONDITION, "etcdserver: bad leader transferee")
    if (target === identity.memberId) return
    node.push({ type: "TransferLeader", target: raftIdOf(target) })
    const deadline = performance.now() + 2 * config.electionTimeoutMs
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, config.heartbeatIntervalMs / 2))
      if (peers.memberIdOf(node.leaderId) === target) return
    }
    throw new GrpcError(Status.DEADLINE_EXCEEDED, "etcdserver: request timed out, leader transfer took too long")
  }
  // What only the leader serves (membership changes, lease keep-alives and remaining TTLs): a
  // follower hands it to the leader over the peer transport and relays the answer (etcd too).
  const keepAliveHere = async (id: bigint): Promise<number> => {
    const lease = machine.store.leases.get(id)
    if (lease === undefined) return 0
    if (node.role !== "Leader") throw new GrpcError(Status.UNAVAILABLE, "etcdserver: not leader")
    return leaseClock.renew(id, lease.ttlSeconds, performance.now()) ? lease.ttlSeconds : 0
  }
  const timeToLiveHere = (id: bigint, keys: boolean) =>
    leaseTimeToLive(machine.store, { id, keys }, (lease) => leaseClock.remainingSeconds(lease, performance.now()))
  const requestTimeoutMs = 5000 + 2 * config.electionTimeoutMs
  async function onLeader<T>(method: string, request: unknown, serve: () => Promise<T>): Promise<T> {
    if (fatal !== undefined) throw new GrpcError(Status.UNAVAILABLE, fatal.message)
    if (node.role === "Leader") return serve()
    const leader = peers.memberIdOf(node.leaderId)
    if (leader === undefined || leader === identity.memberId) throw new GrpcError(Status.UNAVAILABLE, "etcdserver: no leader")
    return (await peers.calls.call(leader, method, request, requestTimeoutMs)) as T
  }
  /**
   * A removal relayed to the leader can commit while its answer is lost: when the leader itself
   * is removed, the others refuse it once they apply the change, and it stops. etcd answers from
   * the asking member's own apply; here the asking member, after a failed relay, reads its own
   * state past a read barrier, and a removed ID never comes back.
   */
  const removeMember = async (id: bigint): Promise<ReadonlyArray<Member>> => {
    try {
      return await onLeader("MemberRemove", id, () => membership.remove(id))
    } catch (error) {
      if (!(error instanceof GrpcError) || error.code !== Status.UNAVAILABLE) throw error
      await node.linearizableBarrier().catch(() => {})
      if (machine.members.isRemoved(id)) return machine.members.list()
      throw error
    }
  }
  // Served here as the leader; a member that is no longer leader answers "not leader" (no relay on).
  const asRequest = (request: unknown) => request as Record<string, unknown>
  peers.calls.handle("MemberAdd", (r) => membership.add(asRequest(r).peerUrls as string[], asRequest(r).isLearner === true))
  peers.calls.handle("MemberRemove", (r) => membership.remove(r as bigint))
  peers.calls.handle("MemberUpdate", (r) => membership.update(asRequest(r).id as bigint, asRequest(r).peerUrls as string[]))
  peers.calls.handle("MemberPromote", (r) => membership.promote(r as bigint))
  peers.calls.handle("LeaseKeepAlive", (r) => keepAliveHere(r as bigint))
  peers.calls.handle("LeaseTimeToLive", async (r) => {
    if (node.role !== "Leader") throw new GrpcError(Status.UNAVAILABLE, "etcdserver: not leader")
    return timeToLiveHere(asRequest(r).id as bigint, asRequest(r).keys === true)
  })

  // Like etcd's publish: tell every member our name and client URLs, through the log, until done.
  let publishing = true
  const publish = async (): Promise<void> => {
    while (publishing) {
      const known = machine.members.get(identity.memberId)
      if (known !== undefined && known.name === config.name && known.clientUrls.join() === config.advertiseClientUrls.join()) return
      const requestId = node.newRequestId()
      const data = encodePublishEntry(requestId, { id: identity.memberId, name: config.name, clientUrls: config.advertiseClientUrls })
      try {
        await node.propose(requestId, data)
        return
      } catch (error) {
        log.debug(`publishing member attributes: ${error instanceof Error ? error.message : String(error)}; retrying`)
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
  }
  void publish()
  const freshLeaseId = (): bigint => freshLeaseIdFrom((id) => machine.store.leases.has(id))
  const methods = new Map<string, Method>([
    ...kvMethods({
      header,
      validate: (command) => {
        const invalid = validateCommand(command, config.maxTxnOps)
        if (invalid !== undefined) throw new GrpcError(invalid.code as Status, invalid.message)
      },
      propose,
      range: async (request: RangeRequest) => {
        if (!request.serializable) {
          try {
            await node.linearizableBarrier()
          } catch (error) {
            throw toGrpcError(error)
          }
        }
        return range(machine.store, request)
      },
    }),
    ...watchMethods(hub, (revision) => header(revision)),
    ...leaseMethods({
      header,
      grant: (ttl, id) => propose({ type: "LeaseGrant", request: { ttl, id: id === 0n ? freshLeaseId() : id } }),
      revoke: (id) => propose({ type: "LeaseRevoke", request: { id } }),
      keepAlive: (id) => onLeader("LeaseKeepAlive", id, () => keepAliveHere(id)),
      timeToLive: (id, keys) => onLeader("LeaseTimeToLive", { id, keys }, async () => timeToLiveHere(id, keys)),
      leases: async () => {
        const known = leaseLeases(machine.store)
        const order = new Map(leaseClock.byExpiry().map((id, k) => [id, k]))
        const rank = (id: bigint): number => order.get(id) ?? Number.MAX_SAFE_INTEGER
        return { ...known, leases: [...known.leases].sort((a, b) => rank(a.id) - rank(b.id)) }
      },
    }),
    ...maintenanceMethods({
      header,
      status: async () => ({
        version: VERSION,
        dbSize: machine.dbSizeBytes,
        leader: peers.memberIdOf(node.leaderId) ?? 0n,
        raftIndex: node.commitIndex,
        raftTerm: node.term,
        raftAppliedIndex: node.appliedIndex,
        errors: machine.alarms.map((a) => `memberID:${a.memberId} alarm:${alarmName(a.alarm)}`),
        dbSizeInUse: machine.dbSizeBytes,
        isLearner: machine.members.get(identity.memberId)?.isLearner ?? false,
      }),
      // etcd hashes its whole bolt file, which has no counterpart here: this is the CRC-32C of
      // the store's snapshot encoding, equal on replicas with equal state.
      hash: async () => crc32c(0, machine.snapshot()),
      hashKv: async (revision) => {
        const result = hashKV(machine.store, revision)
        if (result.type === "Error") throw new GrpcError(result.error.code as Status, result.error.message)
        return { hash: result.response.hash, compactRevision: result.response.compactRevision, revision: result.response.header.revision }
      },
      snapshot: async () => snapshotBlob(machine.snapshot()),
      defragment: async () => machine.defragment(),
      // GET answers from this member's state; ACTIVATE and DEACTIVATE go through Raft, as in etcd.
      alarm: async (request) => {
        if (request.action === AlarmAction.ACTIVATE || request.action === AlarmAction.DEACTIVATE) {
          if (request.alarm === AlarmType.NONE) return []
          return proposeAlarm({ action: request.action, memberId: request.memberId, alarm: request.alarm })
        }
        return machine.alarms.filter((a) => request.alarm === AlarmType.NONE || a.alarm === request.alarm)
      },
      moveLeader: (target) => moveLeader(target),
    }),
    ...clusterMethods({
      // etcd's cluster service fills no revision in its header (etcdctl -w json shows none).
      header: () => ({ ...header(), revision: 0 }),
      members: async () => machine.members.list(),
      add: (peerUrls, isLearner) => onLeader("MemberAdd", { peerUrls, isLearner }, () => membership.add(peerUrls, isLearner)),
      remove: (id) => removeMember(id),
      update: (id, peerUrls) => onLeader("MemberUpdate", { id, peerUrls }, () => membership.update(id, peerUrls)),
      promote: (id) => onLeader("MemberPromote", id, () => membership.promote(id)),
    }),
  ])

  const connections = new GrpcConnections({
    methods,
    maxReceiveMessageBytes: config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    onInternalError: (p, error) => log.error(`${p}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    log: (message) => log.warn(message),
  })
  const servers: Array<net.Server> = []
  const clientUrls: Array<string> = []
  for (const url of config.listenClientUrls) {
    const parsed = new URL(url)
    const server = createClientServer(parsed, config.clientTls, connections, log)
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(Number(parsed.port || 2379), parsed.hostname.replace(/^\[|\]$/g, ""), () => resolve())
    })
    const port = (server.address() as AddressInfo).port
    clientUrls.push(`${parsed.protocol}//${parsed.hostname}:${port}`)
    servers.push(server)
  }

  log.info(`name = ${config.name}`)
  log.info(`data dir = ${config.dataDir}`)
  log.info(`member ID = ${identity.memberId.toString(16)}, cluster ID = ${identity.clusterId.toString(16)}`)
  log.info(`recovered revision ${machine.store.currentRevision} at applied index ${node.appliedIndex}${disk.fresh ? " (new member)" : ""}`)
  log.info(`serving client requests on ${clientUrls.join(", ")}`)

  return {
    identity,
    clientUrls,
    node,
    machine,
    fatal: fatalPromise,
    async close() {
      publishing = false
      clearInterval(ticker)
      clearInterval(progressTimer)
      const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => {
        server.close(() => resolve())
        // A client that never closes its socket would hold close() forever.
        setTimeout(resolve, 1000).unref()
      })))
      connections.closeAll() // open streams (watches, keep-alives) end with the connections
      await closed
      node.stop()
      peers.close()
      await disk.storage.close()
      log.info("stopped")
    },
  }
}
