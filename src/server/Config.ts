// A node's settings, named after etcd's flags (the verikv command maps flags and VERIKV_*
// variables onto this; tests build it directly).

export interface TlsFiles {
  readonly certFile: string
  readonly keyFile: string
  /** CA bundle that client (or peer) certificates must chain to. */
  readonly trustedCaFile: string
  /** Require and verify a client certificate. */
  readonly clientCertAuth: boolean
}

export interface ServerConfig {
  readonly name: string
  readonly dataDir: string
  readonly listenClientUrls: ReadonlyArray<string>
  readonly advertiseClientUrls: ReadonlyArray<string>
  readonly listenPeerUrls: ReadonlyArray<string>
  readonly initialAdvertisePeerUrls: ReadonlyArray<string>
  /** name=url pairs, e.g. "default=http://localhost:2380". */
  readonly initialCluster: string
  readonly initialClusterState: "new" | "existing"
  readonly initialClusterToken: string
  readonly heartbeatIntervalMs: number
  readonly electionTimeoutMs: number
  readonly snapshotCount: number
  /** 0: etcd's default of 2 GiB. */
  readonly quotaBackendBytes: number
  readonly maxRequestBytes: number
  readonly maxTxnOps: number
  readonly autoCompactionMode: "periodic" | "revision"
  readonly autoCompactionRetention: string
  readonly clientTls: TlsFiles | undefined
  readonly peerTls: TlsFiles | undefined
  readonly logLevel: "debug" | "info" | "warn" | "error"
  /** Where to append this member's Raft transitions as NDJSON ("" = off; src/server/TraceFile.ts). */
  readonly experimentalTraceFile: string
}

export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024
/** etcd's default for --max-request-bytes (1.5 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024
/** grpc-go accepts this much more than --max-request-bytes, so that etcd's own error can answer. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024

export const defaultConfig: ServerConfig = {
  name: "default",
  dataDir: "default.verikv",
  listenClientUrls: ["http://127.0.0.1:2379"],
  advertiseClientUrls: ["http://127.0.0.1:2379"],
  listenPeerUrls: ["http://127.0.0.1:2380"],
  initialAdvertisePeerUrls: ["http://127.0.0.1:2380"],
  initialCluster: "default=http://127.0.0.1:2380",
  initialClusterState: "new",
  initialClusterToken: "etcd-cluster",
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 100_000,
  quotaBackendBytes: 0,
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  maxTxnOps: 128,
  autoCompactionMode: "periodic",
  autoCompactionRetention: "0",
  clientTls: undefined,
  peerTls: undefined,
  logLevel: "info",
  experimentalTraceFile: "",
}
