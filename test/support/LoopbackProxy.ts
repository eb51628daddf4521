// A TCP proxy on loopback for fault tests: it listens on a port chosen by the kernel and forwards
// every connection to one target. It can cut the connections from some sources, or all of them,
// and heal them again:
//   drop       existing connections are closed, new ones are closed once accepted (FIN);
//   refuse     existing and new connections are reset (RST);
//   blackhole  nothing passes in either direction, nothing is closed: a held connection stalls
//              as TCP does on a dead link (the kernel buffers fill, the sender blocks), and flows
//              again on heal with nothing lost; a connection opened during the blackhole never
//              reaches the target, and is closed on heal (its dialer has given up by then).
// A source is named by an optional `identify`, from the first bytes the connection sends (for
// peer links: the sender in the handshake); without it every connection is the same source.
// Everything is bounded: at most `headBytesMax` bytes are read to name a source, and close()
// destroys every socket.
import net from "node:net"
import { assert } from "../../src/assert.ts"
import { loopbackHost } from "./FreePort.ts"

export type LinkFault = "drop" | "refuse" | "blackhole"

export interface LoopbackProxyOptions {
  readonly targetPort: number
  /** Names the sender from the bytes it sent first; undefined while they do not suffice. */
  readonly identify?: (head: Buffer) => string | undefined
  /** A connection not named within this many bytes is named `unnamedSource`. */
  readonly headBytesMax?: number
}

export const unnamedSource = "(unnamed)"

export interface ProxyStats {
  readonly accepted: number
  /** Bytes passed on, both directions. */
  readonly forwardedBytes: number
  /** Connections closed or reset by a fault (at accept or later). */
  readonly cutConnections: number
  /** Connections held by a blackhole right now. */
  readonly held: number
}

export interface LoopbackProxy {
  readonly port: number
  /** http://127.0.0.1:port, for a peer URL. */
  readonly url: string
  /**
   * Applies `fault` to connections from `sources` (from every source if omitted), open and new;
   * it replaces any earlier fault.
   */
  readonly cut: (fault: LinkFault, sources?: ReadonlySet<string>) => void
  /** Lifts the fault: held connections flow again, new ones are forwarded. */
  readonly heal: () => void
  readonly stats: () => ProxyStats
  /** Stops listening and destroys every connection. */
  readonly close: () => Promise<void>
}

interface Link {
  readonly client: net.Socket
  upstream: net.Socket | undefined
  source: string | undefined
  /** Bytes received before the source was named. */
  head: Buffer
  held: boolean
}

const headBytesMaxDefault = 4096

export async function startLoopbackProxy(options: LoopbackProxyOptions): Promise<LoopbackProxy> {
  const headBytesMax = options.headBytesMax ?? headBytesMaxDefault
  assert(headBytesMax > 0, "LoopbackProxy: headBytesMax must be positive")
  const links = new Set<Link>()
  let fault: { readonly kind: LinkFault; readonly sources: ReadonlySet<string> | undefined } | undefined
  let accepted = 0
  let forwardedBytes = 0
  let cutConnections = 0

  const faultApplies = (source: string | undefined): LinkFault | undefined => {
    if (fault === undefined) return undefined
    if (fault.sources === undefined) return fault.kind
    return source !== undefined && fault.sources.has(source) ? fault.kind : undefined
  }

  const destroy = (link: Link, reset: boolean) => {
    links.delete(link)
    for (const socket of [link.client, link.upstream]) {
      if (socket === undefined || socket.destroyed) continue
      if (reset) socket.resetAndDestroy()
      else socket.destroy()
    }
  }

  const cutLink = (link: Link, kind: LinkFault) => {
    if (kind === "blackhole") return hold(link)
    cutConnections++
    destroy(link, kind === "refuse")
  }

  const hold = (link: Link) => {
    if (link.held) return
    link.held = true
    if (link.upstream !== undefined) {
      link.client.unpipe(link.upstream)
      link.upstream.unpipe(link.client)
      link.upstream.pause()
    }
    link.client.pause()
  }

  const release = (link: Link) => {
    if (!link.held) return
    link.held = false
    // A connection that never reached the target is gone by now for its dialer: close it.
    if (link.upstream === undefined) return destroy(link, false)
    link.client.pipe(link.upstream)
    link.upstream.pipe(link.client)
  }

  const connectUpstream = (link: Link) => {
    const upstream = net.connect({ host: loopbackHost, port: options.targetPort })
    link.upstream = upstream
    upstream.setNoDelay(true)
    upstream.on("error", () => destroy(link, false))
    upstream.on("close", () => destroy(link, false))
    upstream.on("data", (chunk: Buffer) => (forwardedBytes += chunk.length))
    if (link.head.length > 0) upstream.write(link.head)
    link.head = Buffer.alloc(0)
    link.client.pipe(upstream)
    upstream.pipe(link.client)
  }

  const named = (link: Link, source: string) => {
    link.source = source
    link.client.removeAllListeners("data")
    link.client.on("data", (chunk: Buffer) => (forwardedBytes += chunk.length))
    forwardedBytes += link.head.length
    link.client.pause()
    const kind = faultApplies(source)
    if (kind === "blackhole") {
      link.held = true
      return
    }
    if (kind !== undefined) return cutLink(link, kind)
    connectUpstream(link)
  }

  const accept = (client: net.Socket) => {
    accepted++
    const link: Link = { client, upstream: undefined, source: undefined, head: Buffer.alloc(0), held: false }
    links.add(link)
    client.setNoDelay(true)
    client.on("error", () => destroy(link, false))
    client.on("close", () => destroy(link, false))
    const kind = faultApplies(undefined)
    if (kind === "blackhole") {
      link.held = true
      client.pause()
      return
    }
    if (kind !== undefined) return cutLink(link, kind)
    const identify = options.identify
    if (identify === undefined) return named(link, unnamedSource)
    client.on("data", (chunk: Buffer) => {
      link.head = Buffer.concat([link.head, chunk])
      const source = identify(link.head)
      if (source !== undefined) named(link, source)
      else if (link.head.length >= headBytesMax) named(link, unnamedSource)
    })
  }

  const server = net.createServer(accept)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, loopbackHost, () => resolve())
  })
  const address = server.address()
  assert(typeof address === "object" && address !== null, "LoopbackProxy: listening on a TCP port")
  const port = address.port

  return {
    port,
    url: `http://${loopbackHost}:${port}`,
    cut: (kind, sources) => {
      fault = { kind, sources }
      for (const link of [...links]) {
        const applies = faultApplies(link.source)
        // Only named connections can be cut by source; unnamed ones are cut only by a cut of all.
        if (applies !== undefined && (link.source !== undefined || sources === undefined)) cutLink(link, applies)
        else release(link) // held by an earlier fault that this one replaces
      }
    },
    heal: () => {
      fault = undefined
      for (const link of [...links]) release(link)
    },
    stats: () => ({
      accepted,
      forwardedBytes,
      cutConnections,
      held: [...links].filter((l) => l.held).length,
    }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const link of [...links]) destroy(link, false)
      await closed
    },
  }
}
