// Peer URLs as etcd writes them: http://host:port for plain TCP, https://host:port for TLS.
export interface PeerUrl {
  readonly secure: boolean
  /** A host name or IP literal, without IPv6 brackets (as node:net wants it). */
  readonly host: string
  readonly port: number
  /** host:port as it appears in logs. */
  readonly address: string
}

export function parsePeerUrl(text: string): PeerUrl {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new Error(`peer URL "${text}" is not a URL`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`peer URL "${text}" must start with http:// or https://`)
  }
  if (url.port === "") throw new Error(`peer URL "${text}" has no port`)
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  return { secure: url.protocol === "https:", host, port: Number(url.port), address: url.host }
}
