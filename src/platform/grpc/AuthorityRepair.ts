// Lets clients that put a URL in :authority be served, as etcd (Go's lenient HTTP/2 server) does.
//
// etcdctl 3.4 given --endpoints=http://host:port dials grpc-go target "passthrough:///http://…"
// and sends `:authority: http://host:port`. nghttp2 in node:http2 refuses that value (RFC 3986
// authority characters only) with RST_STREAM PROTOCOL_ERROR, and Node has no option to relax the
// check. So a connection whose first request carries such an authority passes through a
// HeaderBlockRewriter before nghttp2 sees it: a header list whose :authority (or host) is not a
// valid authority gets the URL's authority part instead. Every other connection is handed to
// node:http2 as it is once its first request has been seen (see triage), at no cost per call.
import type * as http2 from "node:http2"
import type * as net from "node:net"
import { Duplex } from "node:stream"
import * as tls from "node:tls"
import { assert } from "../../assert.ts"
import type { DecodedField } from "./h2/HpackDecoder.ts"
import { FrameType } from "./h2/Frame.ts"
import { HeaderBlockRewriter, type HeaderListRepair } from "./h2/HeaderBlockRewriter.ts"

/** Far above any header block etcd's clients send, and bounded so a peer cannot grow it. */
const HEADER_BLOCK_BYTES_MAX = 1 << 20

/** nghttp2's authority check: RFC 3986 authority characters, nothing else. */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:%@[\]]*$/
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

/** The authority to send instead of `value`, or undefined if it is valid or beyond repair. */
export function repairedAuthority(value: string): string | undefined {
  if (VALID_AUTHORITY.test(value)) return undefined
  const withoutScheme = value.replace(URL_SCHEME, "")
  const authority = withoutScheme.slice(0, withoutScheme.search(/[/?#]|$/))
  return authority !== "" && VALID_AUTHORITY.test(authority) ? authority : undefined
}

export const authorityRepair: HeaderListRepair = (fields) => {
  let repaired: Array<DecodedField> | undefined
  for (let k = 0; k < fields.length; k++) {
    const field = fields[k]!
    if (field.name !== ":authority" && field.name !== "host") continue
    const value = repairedAuthority(field.value)
    if (value === undefined) continue
    repaired ??= [...fields]
    repaired[k] = { ...field, value }
  }
  return repaired
}

/** The log line for a connection closed because its bytes are not HTTP/2 as a client sends it. */
function describeRefusal(socket: net.Socket, error: unknown): string {
  return `closing client connection from ${socket.remoteAddress}:${socket.remotePort}: ${error instanceof Error ? error.message : String(error)}`
}

/**
 * The client's socket as node:http2 should see it: what the client sent, its header blocks
 * repaired; what the server writes goes straight to the socket.
 */
class RepairingSocket extends Duplex {
  private readonly socket: net.Socket

  /** `rewriter` has already turned the client's first bytes into `forwarded`. */
  constructor(socket: net.Socket, rewriter: HeaderBlockRewriter, forwarded: ReadonlyArray<Buffer>, log: (message: string) => void) {
    super({ allowHalfOpen: false })
    this.socket = socket
    // node:http2 turns Nagle off on the sockets it owns; this one it never sees.
    socket.setNoDelay(true)
    for (const piece of forwarded) this.push(piece)
    socket.on("data", (chunk: Buffer) => {
      let pieces: Array<Buffer>
      try {
        pieces = rewriter.push(chunk)
      } catch (error) {
        log(describeRefusal(socket, error))
        socket.destroy()
        return
      }
      let wantsMore = true
      for (const piece of pieces) wantsMore = this.push(piece)
      if (!wantsMore) socket.pause()
    })
    socket.on("end", () => this.push(null))
    socket.on("error", (error) => this.destroy(error))
    socket.on("close", () => this.destroy())
  }

  // node:http2 wraps this stream in its JSStreamSocket, so the session's socket reports no
  // addresses and, on TLS, encrypted false and ALPN "h2c"; nothing in verikv reads them.

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.socket.write(chunk)) done()
    else this.socket.once("drain", () => done())
  }

  override _final(done: (error?: Error | null) => void): void {
    this.socket.end()
    done()
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.socket.destroy()
    done(error)
  }
}

/** SETTINGS with no parameters: "the defaults", which is what node:http2 will announce too. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, FrameType.SETTINGS, 0, 0, 0, 0, 0])
/** How long a client may stay silent before its first request; then it gets the slow path. */
const TRIAGE_WAIT_MS = 1000
/** Client bytes held before the first request at most; a client sending more gets the slow path. */
const TRIAGE_BYTES_MAX = 1 << 20

/**
 * Sorts a new connection onto the fast or the slow path. Clients keep one :authority per
 * connection, so its first request decides: valid, and node:http2 gets the socket itself
 * (native I/O, nothing in between); otherwise every byte goes through a RepairingSocket. To see
 * that request without handing the socket over, this sends the server's SETTINGS itself (grpc-go
 * sends no request before it has them) and drops the client's ACK of them.
 */
function triage(socket: net.Socket, serve: (socket: net.Socket) => void, log: (message: string) => void): void {
  const rewriter = new HeaderBlockRewriter(authorityRepair, { headerBlockBytesMax: HEADER_BLOCK_BYTES_MAX, settingsAcksToDrop: 1 })
  const forwarded: Array<Buffer> = []
  let forwardedBytes = 0
  const decide = (): void => {
    clearTimeout(timer)
    socket.removeListener("data", onData)
    socket.removeListener("end", onEnd)
    socket.pause()
    const fast = rewriter.blockCount > 0 && rewriter.repairedBlockCount === 0 && rewriter.droppedSettingsAckCount === 1
    if (fast) {
      // node:http2 reads what a socket already holds before its native reads begin.
      socket.unshift(Buffer.concat(forwarded))
      serve(socket)
    } else {
      serve(new RepairingSocket(socket, rewriter, forwarded, log) as unknown as net.Socket)
    }
  }
  const onData = (chunk: Buffer): void => {
    try {
      for (const piece of rewriter.push(chunk)) {
        forwarded.push(piece)
        forwardedBytes += piece.length
      }
    } catch (error) {
      clearTimeout(timer)
      log(describeRefusal(socket, error))
      socket.destroy()
      return
    }
    const requestSeen = rewriter.blockCount > 0 && rewriter.droppedSettingsAckCount === 1
    if (requestSeen || rewriter.repairedBlockCount > 0 || forwardedBytes > TRIAGE_BYTES_MAX) decide()
  }
  const onEnd = (): void => {
    clearTimeout(timer)
    socket.destroy() // gone before its first request
  }
  const timer = setTimeout(decide, TRIAGE_WAIT_MS)
  socket.on("data", onData)
  socket.on("end", onEnd)
  socket.once("close", () => clearTimeout(timer))
  socket.write(EMPTY_SETTINGS)
}

/**
 * Puts the :authority repair in front of `server`'s HTTP/2 sessions: its own connection
 * listener (on 'connection', or 'secureConnection' once TLS has negotiated ALPN "h2") is
 * handed the socket after triage, or a RepairingSocket. Call once, before the server listens.
 */
export function repairAuthorityOn(server: http2.Http2Server | http2.Http2SecureServer, log: (message: string) => void): void {
  const event = server instanceof tls.Server ? "secureConnection" : "connection"
  const listeners = server.listeners(event)
  assert(listeners.length === 1, "repairAuthorityOn: expected node:http2's own connection listener only")
  const sessionListener = listeners[0] as (this: typeof server, socket: net.Socket) => void
  server.removeListener(event, sessionListener)
  server.on(event, (socket: net.Socket) => {
    // Without h2 negotiated, node:http2 answers (or drops) the socket itself.
    if (socket instanceof tls.TLSSocket && socket.alpnProtocol !== "h2") return sessionListener.call(server, socket)
    socket.on("error", () => {}) // until node:http2 has it: a reset by the client just closes it
    triage(socket, (served) => sessionListener.call(server, served), log)
  })
}
