// The verikv command's flags: etcd's names and defaults, each also settable from a VERIKV_*
// variable (--data-dir <-> VERIKV_DATA_DIR), as etcd reads ETCD_*. A flag given on the command
// line wins over the variable, which wins over the default.
import * as Flag from "effect/cli/Flag"
import * as Config from "effect/Config"
import { defaultConfig, type ServerConfig, type TlsFiles } from "../server/Config.ts"

const envName = (flag: string): string => `VERIKV_${flag.toUpperCase().replaceAll("-", "_")}`

function text(name: string, fallback: string, description: string): Flag.Flag<string> {
  return Flag.String(name).pipe(
    Flag.withDescription(description),
    Flag.withFallbackConfig(Config.String(envName(name))),
    Flag.withDefault(fallback),
  )
}

function int(name: string, fallback: number, description: string): Flag.Flag<number> {
  return Flag.Int(name).pipe(
    Flag.withDescription(description),
    Flag.withFallbackConfig(Config.Int(envName(name))),
    Flag.withDefault(fallback),
  )
}

function bool(name: string, description: string): Flag.Flag<boolean> {
  return Flag.Boolean(name).pipe(
    Flag.withDescription(description),
    Flag.withFallbackConfig(Config.Boolean(envName(name))),
    Flag.withDefault(false),
  )
}

const list = (value: string): ReadonlyArray<string> => value.split(",").map((s) => s.trim()).filter((s) => s !== "")

export const serverFlags = {
  name: text("name", defaultConfig.name, "Human-readable name for this member."),
  dataDir: text("data-dir", "", "Path to the data directory (default: <name>.verikv)."),
  listenClientUrls: text("listen-client-urls", defaultConfig.listenClientUrls.join(","), "URLs to listen on for client traffic."),
  advertiseClientUrls: text("advertise-client-urls", defaultConfig.advertiseClientUrls.join(","), "Client URLs advertised to the cluster."),
  listenPeerUrls: text("listen-peer-urls", defaultConfig.listenPeerUrls.join(","), "URLs to listen on for peer traffic."),
  initialAdvertisePeerUrls: text("initial-advertise-peer-urls", defaultConfig.initialAdvertisePeerUrls.join(","), "Peer URLs advertised to the cluster."),
  initialCluster: text("initial-cluster", "", "Initial cluster configuration for bootstrapping (name=peer-url,...)."),
  initialClusterState: Flag.Literals("initial-cluster-state", ["new", "existing"]).pipe(
    Flag.withDescription("'new' to bootstrap a new cluster, 'existing' to join one."),
    Flag.withFallbackConfig(Config.Literals(["new", "existing"], envName("initial-cluster-state"))),
    Flag.withDefault(defaultConfig.initialClusterState),
  ),
  initialClusterToken: text("initial-cluster-token", defaultConfig.initialClusterToken, "Initial cluster token, which makes the cluster ID unique."),
  heartbeatInterval: int("heartbeat-interval", defaultConfig.heartbeatIntervalMs, "Time (in milliseconds) of a heartbeat interval."),
  electionTimeout: int("election-timeout", defaultConfig.electionTimeoutMs, "Time (in milliseconds) for an election to timeout."),
  snapshotCount: int("snapshot-count", defaultConfig.snapshotCount, "Number of committed transactions to trigger a snapshot to disk."),
  quotaBackendBytes: int("quota-backend-bytes", defaultConfig.quotaBackendBytes, "Raise an alarm when the store exceeds this size (0: 2 GiB)."),
  maxRequestBytes: int("max-request-bytes", defaultConfig.maxRequestBytes, "Maximum client request size in bytes the server will accept."),
  maxTxnOps: int("max-txn-ops", defaultConfig.maxTxnOps, "Maximum number of operations permitted in a transaction."),
  autoCompactionMode: Flag.Literals("auto-compaction-mode", ["periodic", "revision"]).pipe(
    Flag.withDescription("Interpret 'auto-compaction-retention' as an hour-based duration or a revision count."),
    Flag.withFallbackConfig(Config.Literals(["periodic", "revision"], envName("auto-compaction-mode"))),
    Flag.withDefault(defaultConfig.autoCompactionMode),
  ),
  autoCompactionRetention: text("auto-compaction-retention", defaultConfig.autoCompactionRetention, "Auto compaction retention (0 = off): hours (periodic, or a duration like 30m) or revisions."),
  certFile: text("cert-file", "", "Path to the client server TLS certificate file."),
  keyFile: text("key-file", "", "Path to the client server TLS key file."),
  trustedCaFile: text("trusted-ca-file", "", "Path to the client server TLS trusted CA file."),
  clientCertAuth: bool("client-cert-auth", "Enable client certificate authentication."),
  peerCertFile: text("peer-cert-file", "", "Path to the peer server TLS certificate file."),
  peerKeyFile: text("peer-key-file", "", "Path to the peer server TLS key file."),
  peerTrustedCaFile: text("peer-trusted-ca-file", "", "Path to the peer server TLS trusted CA file."),
  peerClientCertAuth: bool("peer-client-cert-auth", "Enable peer client certificate authentication."),
  logLevel: Flag.Literals("log-level", ["debug", "info", "warn", "error"]).pipe(
    Flag.withDescription("Configures log level. Only supports debug, info, warn, error."),
    Flag.withFallbackConfig(Config.Literals(["debug", "info", "warn", "error"], envName("log-level"))),
    Flag.withDefault(defaultConfig.logLevel),
  ),
  experimentalTraceFile: text("experimental-trace-file", "", "Append this member's Raft transitions to this file as NDJSON, for trace validation (off when empty)."),
}

type Parsed = { readonly [K in keyof typeof serverFlags]: (typeof serverFlags)[K] extends Flag.Flag<infer A> ? A : never }

function tls(cert: string, key: string, ca: string, clientCertAuth: boolean, what: string): TlsFiles | undefined {
  if (cert === "" && key === "") {
    if (ca !== "" || clientCertAuth) throw new Error(`${what}: a trusted CA or client certificate auth needs a certificate and key`)
    return undefined
  }
  if (cert === "" || key === "") throw new Error(`${what}: both the certificate and the key file are required`)
  return { certFile: cert, keyFile: key, trustedCaFile: ca, clientCertAuth }
}

/** Flags as parsed -> the node's configuration, with etcd's derived defaults. */
export function toServerConfig(flags: Parsed): ServerConfig {
  const listenPeerUrls = list(flags.listenPeerUrls)
  const advertisePeerUrls = list(flags.initialAdvertisePeerUrls)
  return {
    name: flags.name,
    dataDir: flags.dataDir === "" ? `${flags.name}.verikv` : flags.dataDir,
    listenClientUrls: list(flags.listenClientUrls),
    advertiseClientUrls: list(flags.advertiseClientUrls),
    listenPeerUrls,
    initialAdvertisePeerUrls: advertisePeerUrls,
    initialCluster: flags.initialCluster === "" ? advertisePeerUrls.map((url) => `${flags.name}=${url}`).join(",") : flags.initialCluster,
    initialClusterState: flags.initialClusterState,
    initialClusterToken: flags.initialClusterToken,
    heartbeatIntervalMs: flags.heartbeatInterval,
    electionTimeoutMs: flags.electionTimeout,
    snapshotCount: flags.snapshotCount,
    quotaBackendBytes: flags.quotaBackendBytes,
    maxRequestBytes: flags.maxRequestBytes,
    maxTxnOps: flags.maxTxnOps,
    autoCompactionMode: flags.autoCompactionMode,
    autoCompactionRetention: flags.autoCompactionRetention,
    clientTls: tls(flags.certFile, flags.keyFile, flags.trustedCaFile, flags.clientCertAuth, "client TLS"),
    peerTls: tls(flags.peerCertFile, flags.peerKeyFile, flags.peerTrustedCaFile, flags.peerClientCertAuth, "peer TLS"),
    logLevel: flags.logLevel,
    experimentalTraceFile: flags.experimentalTraceFile,
  }
}
