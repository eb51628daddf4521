// TLS options for peer connections from etcd's --peer-* flags. The listener asks for client
// certificates when client-cert-auth is on (and refuses a connection without a trusted one);
// the dialer always verifies the listener's certificate against the trusted CA and presents its
// own.
import * as fs from "node:fs"
import type * as tls from "node:tls"
import type { PeerTlsFiles } from "./TransportOptions.ts"

export interface PeerTlsOptions {
  readonly server: tls.TlsOptions
  readonly client: tls.ConnectionOptions
}

export function loadPeerTls(files: PeerTlsFiles, handshakeTimeoutMs: number): PeerTlsOptions {
  const cert = fs.readFileSync(files.certFile)
  const key = fs.readFileSync(files.keyFile)
  const ca = files.trustedCaFile === "" ? undefined : fs.readFileSync(files.trustedCaFile)
  const shared = { cert, key, ...(ca !== undefined && { ca }) }
  return {
    // The transport checks `authorized` itself after the handshake, to log who was refused and why.
    server: {
      ...shared, requestCert: files.clientCertAuth, rejectUnauthorized: false,
      handshakeTimeout: handshakeTimeoutMs,
    },
    client: { ...shared, rejectUnauthorized: true },
  }
}
