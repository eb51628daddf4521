// gRPC over HTTP/2 (the calls etcd's clients make) on the hand-written HTTP/2 server connection.
//
// Why by hand: measured on this machine (shared/PERF-NOTES.md) a unary etcd Put served through
// node:http2 streams with 5-byte framing costs 26 us of CPU per call against 49 us with
// @grpc/grpc-js and 278 us with connect-node, and the HTTP/2 transport is ~95 % of it; see
// h2/ServerConnection.ts for what replaced node:http2. Only what etcd's clients use is here:
// unary and bidirectional-streaming methods, identity encoding, status in trailers,
// trailers-only errors.
import type * as net from "node:net"
import { FRAME_HEADER_BYTES as GRPC_PREFIX_BYTES, MessageReader } from "./Framing.ts"
import { FRAME_HEADER_BYTES } from "./h2/Frame.ts"
import { encodeLiteralBlock } from "./h2/HpackLiteralEncoder.ts"
import { type ConnectionHandler, type H2Stream, ServerConnection, type StreamListener } from "./h2/ServerConnection.ts"
import type { HeaderField } from "./h2/StaticTable.ts"
import { encodeGrpcMessage, GrpcError, Status } from "./Status.ts"

/** Answers one request message with one response message. */
export interface UnaryMethod {
  readonly kind: "unary"
  readonly handle: (request: Buffer, call: CallContext) => Promise<Uint8Array> | Uint8Array
}

/** A bidirectional stream: `open` is called once per call with a handle to send on it. */
export interface StreamMethod {
  readonly kind: "stream"
  readonly open: (call: ServerStream) => StreamHandlers
}
export interface StreamHandlers {
  readonly onMessage: (message: Buffer) => void
  /**
   * The client half-closed: it sends nothing more but may still be reading. Without this
   * handler a half-close ends the call (onEnd follows at once).
   */
  readonly onHalfClose?: () => void
  /** The call is over, called once (`error` set if it was reset or cancelled). */
  readonly onEnd: (error: GrpcError | undefined) => void
}

export type Method = UnaryMethod | StreamMethod

export interface CallContext {
  /** The request's header list as the client sent it (pseudo-headers included). */
  readonly headers: ReadonlyArray<HeaderField>
}

export interface ServerStream extends CallContext {
  /** Sends one message; returns false once the call is over. */
  send(message: Uint8Array): boolean
  /** Ends the call with a status (OK by default). Idempotent. */
  end(error?: GrpcError): void
  readonly closed: boolean
}

export interface GrpcServerOptions {
  /** Full method paths, e.g. "/etcdserverpb.KV/Put". */
  readonly methods: ReadonlyMap<string, Method>
  readonly maxReceiveMessageBytes: number
  /** Called for errors a handler did not turn into a GrpcError (a bug, logged by the caller). */
  readonly onInternalError?: (path: string, error: unknown) => void
  /** Why a client connection was closed on a protocol error. */
  readonly log?: (message: string) => void
}

// Header blocks, HPACK-encoded once where they never change, none touching the client's dynamic
// table. The response headers, sent with every answer, name the static table: `:status: 200` is
// entry 8; `content-type` is entry 31's name (0x0f 0x10) with a 16-byte literal value.
const RESPONSE_HEADERS = Buffer.concat([Buffer.from([0x88, 0x0f, 0x10, 16]), Buffer.from("application/grpc", "latin1")])
const field = (name: string, value: string) => ({ name, value, neverIndexed: false })
const OK_TRAILERS = encodeLiteralBlock([field("grpc-status", "0")])

function errorTrailers(error: GrpcError): Buffer {
  // encodeGrpcMessage leaves only printable ASCII, which the encoder writes as latin1 octets.
  return encodeLiteralBlock([field("grpc-status", String(error.code)), field("grpc-message", encodeGrpcMessage(error.message))])
}

/** A trailers-only response: status and error in the one HEADERS frame. */
function trailersOnly(error: GrpcError): Buffer {
  return Buffer.concat([RESPONSE_HEADERS, errorTrailers(error)])
}

/** A message framed for gRPC, with room in front for the HTTP/2 frame header. */
function framedMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + GRPC_PREFIX_BYTES + message.length)
  out[FRAME_HEADER_BYTES] = 0 // not compressed
  out.writeUInt32BE(message.length, FRAME_HEADER_BYTES + 1)
  out.set(message, FRAME_HEADER_BYTES + GRPC_PREFIX_BYTES)
  return out
}

function asGrpcError(path: string, error: unknown, options: GrpcServerOptions): GrpcError {
  if (error instanceof GrpcError) return error
  options.onInternalError?.(path, error)
  return new GrpcError(Status.INTERNAL, error instanceof Error ? error.message : String(error))
}

/** One unary call: collects the request message, answers once. */
class UnaryCall implements StreamListener, CallContext {
  readonly headers: ReadonlyArray<HeaderField>
  private readonly stream: H2Stream
  private readonly path: string
  private readonly method: UnaryMethod
  private readonly options: GrpcServerOptions
  private readonly reader: MessageReader
  private request: Buffer | undefined = undefined
  private failed = false

  constructor(stream: H2Stream, headers: ReadonlyArray<HeaderField>, path: string, method: UnaryMethod, options: GrpcServerOptions) {
    this.stream = stream
    this.headers = headers
    this.path = path
    this.method = method
    this.options = options
    this.reader = new MessageReader(options.maxReceiveMessageBytes)
  }

  onData(chunk: Buffer): void {
    if (this.failed) return
    try {
      for (const message of this.reader.push(chunk)) {
        if (this.request !== undefined) return this.fail(new GrpcError(Status.UNIMPLEMENTED, "grpc: more than one request message for a unary method"))
        this.request = message
      }
    } catch (error) {
      this.fail(asGrpcError(this.path, error, this.options))
    }
  }

  onEnd(): void {
    if (this.failed) return
    const request = this.request
    if (request === undefined || this.reader.hasPartialMessage) {
      return this.fail(new GrpcError(Status.INTERNAL, "grpc: the request message is missing or truncated"))
    }
    let answer: Promise<Uint8Array> | Uint8Array
    try {
      answer = this.method.handle(request, this)
    } catch (error) {
      return this.fail(asGrpcError(this.path, error, this.options))
    }
    if (answer instanceof Uint8Array) return this.respond(answer)
    answer.then(
      (response) => this.respond(response),
      (error: unknown) => this.fail(asGrpcError(this.path, error, this.options)),
    )
  }

  onClose(): void {
    this.failed = true // nothing more to tell a client that is gone
  }

  private respond(response: Uint8Array): void {
    this.stream.sendResponse(RESPONSE_HEADERS, framedMessage(response), OK_TRAILERS)
  }

  private fail(error: GrpcError): void {
    if (this.failed) return
    this.failed = true
    this.stream.sendHeaders(trailersOnly(error), true)
  }
}

/** One bidirectional-streaming call. */
class StreamCall implements StreamListener, ServerStream {
  readonly headers: ReadonlyArray<HeaderField>
  private readonly stream: H2Stream
  private readonly path: string
  private readonly options: GrpcServerOptions
  private readonly reader: MessageReader
  private readonly handlers: StreamHandlers
  private ended = false
  private finished = false

  constructor(stream: H2Stream, headers: ReadonlyArray<HeaderField>, path: string, method: StreamMethod, options: GrpcServerOptions) {
    this.stream = stream
    this.headers = headers
    this.path = path
    this.options = options
    this.reader = new MessageReader(options.maxReceiveMessageBytes)
    stream.sendHeaders(RESPONSE_HEADERS, false)
    this.handlers = method.open(this)
  }

  get closed(): boolean {
    return this.ended || this.stream.closed
  }

  send(message: Uint8Array): boolean {
    if (this.closed) return false
    this.stream.sendData(framedMessage(message))
    return true
  }

  end(error?: GrpcError): void {
    if (this.ended) return
    this.ended = true
    this.stream.end(error === undefined ? OK_TRAILERS : errorTrailers(error))
  }

  onData(chunk: Buffer): void {
    if (this.ended) return
    let messages: ReadonlyArray<Buffer>
    try {
      messages = this.reader.push(chunk)
    } catch (error) {
      const grpcError = asGrpcError(this.path, error, this.options)
      this.end(grpcError)
      return this.finish(grpcError)
    }
    for (const message of messages) this.handlers.onMessage(message)
  }

  onEnd(): void {
    const onHalfClose = this.handlers.onHalfClose
    if (onHalfClose === undefined) this.finish(undefined)
    else onHalfClose()
  }

  onClose(reset: boolean): void {
    this.finish(reset && !this.ended ? new GrpcError(Status.CANCELLED, "grpc: the client cancelled the call") : undefined)
  }

  private finish(error: GrpcError | undefined): void {
    if (this.finished) return
    this.finished = true
    this.handlers.onEnd(error)
  }
}

/** Reads and drops whatever a stream we answered at once still sends. */
const IGNORE: StreamListener = { onData() {}, onEnd() {}, onClose() {} }

function pathOf(headers: ReadonlyArray<HeaderField>): string {
  for (const field of headers) if (field.name === ":path") return field.value
  return ""
}

function unknownMethod(path: string, methods: ReadonlyMap<string, Method>): GrpcError {
  const service = path.split("/")[1] ?? ""
  const known = [...methods.keys()].some((p) => p.startsWith(`/${service}/`))
  return new GrpcError(Status.UNIMPLEMENTED, known ? `unknown method ${path.split("/")[2] ?? ""} for service ${service}` : `unknown service ${service}`)
}

/** The connections a gRPC listener serves: accept sockets, close them all on shutdown. */
export class GrpcConnections {
  private readonly connections = new Set<ServerConnection>()
  private readonly handler: ConnectionHandler
  private readonly options: GrpcServerOptions

  constructor(options: GrpcServerOptions) {
    this.options = options
    this.handler = {
      onStream: (stream, headers) => {
        const path = pathOf(headers)
        const method = options.methods.get(path)
        if (method === undefined) {
          stream.sendHeaders(trailersOnly(unknownMethod(path, options.methods)), true)
          return IGNORE
        }
        return method.kind === "unary"
          ? new UnaryCall(stream, headers, path, method, options)
          : new StreamCall(stream, headers, path, method, options)
      },
    }
  }

  /** For net.Server "connection" (plain) and tls.Server "secureConnection" (TLS, ALPN h2). */
  readonly accept = (socket: net.Socket): void => {
    const connection = new ServerConnection(socket, this.handler, {
      log: this.options.log,
      onClosed: (closed) => this.connections.delete(closed),
    })
    this.connections.add(connection)
  }

  /** GOAWAY to every client; their open streams (watches, keep-alives) end. */
  closeAll(): void {
    for (const connection of this.connections) connection.close()
  }
}

/** A listener for one server's sockets (see GrpcConnections.accept). */
export function grpcConnectionListener(options: GrpcServerOptions): (socket: net.Socket) => void {
  return new GrpcConnections(options).accept
}
