// A lean gRPC server written directly on node:http2.
//
// Why by hand: measured on this machine (shared/PERF-NOTES.md) a unary etcd Put served through
// node:http2 streams with 5-byte framing costs 26 us of CPU per call against 49 us with
// @grpc/grpc-js and 278 us with connect-node; the HTTP/2 transport is ~95 % of the cost, so
// everything above it is kept to a lookup, a frame and three header blocks. Only what etcd's
// clients use is here: unary and bidirectional-streaming methods, identity encoding, status in
// trailers, trailers-only errors.
import * as http2 from "node:http2"
import { frameMessage, MessageReader } from "./Framing.ts"
import { encodeGrpcMessage, GrpcError, Status } from "./Status.ts"

const { HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE } = http2.constants

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
  /** The client half-closed or the call ended (`error` set if it was reset or cancelled). */
  readonly onEnd: (error: GrpcError | undefined) => void
}

export type Method = UnaryMethod | StreamMethod

export interface CallContext {
  readonly headers: http2.IncomingHttpHeaders
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
}

const RESPONSE_HEADERS = { [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc" }
/**
 * The same as raw name/value pairs, for every answer with a message: node:http2 copies a headers
 * object before encoding it, a raw array it reads as is. Frozen: node:http2 would only add to it
 * if `:status` or `date` were missing and sendDate were on, and neither is the case here.
 */
const RESPONSE_HEADERS_RAW: ReadonlyArray<string> = Object.freeze([
  HTTP2_HEADER_STATUS, "200", HTTP2_HEADER_CONTENT_TYPE, "application/grpc",
])
const OK_TRAILERS = { "grpc-status": "0" }
// Shared, never mutated (node:http2 only reads options). No `date` header: gRPC has no use for
// it (grpc-go, hence etcd, sends none), and node:http2 would add one to every response.
// respond() honours `sendDate` (lib/internal/http2/core.js) though @types/node leaves it out.
type ResponseOptions = http2.ServerStreamResponseOptions & { readonly sendDate: boolean }
const MESSAGE_OPTIONS: ResponseOptions = { waitForTrailers: true, sendDate: false }
const ERROR_OPTIONS: ResponseOptions = { endStream: true, sendDate: false }

// Listeners shared by every call: EventEmitter calls them with the stream as `this`, so a call
// adds no closure of its own for them (a `once` wrapper and closure per call showed in profiles).
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS)
}
function ignoreStreamError(): void {} // resets by vanished clients are normal; "close" reports them

function errorTrailers(error: GrpcError): http2.OutgoingHttpHeaders {
  return { "grpc-status": String(error.code), "grpc-message": encodeGrpcMessage(error.message) }
}

function asGrpcError(path: string, error: unknown, options: GrpcServerOptions): GrpcError {
  if (error instanceof GrpcError) return error
  options.onInternalError?.(path, error)
  return new GrpcError(Status.INTERNAL, error instanceof Error ? error.message : String(error))
}

/** A trailers-only response: the whole answer is one HEADERS frame. */
function respondWithError(stream: http2.ServerHttp2Stream, error: GrpcError): void {
  if (stream.destroyed || stream.closed) return
  if (stream.headersSent) {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
    return
  }
  stream.respond({ ...RESPONSE_HEADERS, ...errorTrailers(error) }, ERROR_OPTIONS)
}

function serveUnary(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  path: string,
  method: UnaryMethod,
  options: GrpcServerOptions,
): void {
  const reader = new MessageReader(options.maxReceiveMessageBytes)
  let request: Buffer | undefined
  let failed = false
  const fail = (error: GrpcError): void => {
    if (failed) return
    failed = true
    respondWithError(stream, error)
  }
  stream.on("data", (chunk: Buffer) => {
    if (failed) return
    try {
      for (const message of reader.push(chunk)) {
        if (request !== undefined) return fail(new GrpcError(Status.UNIMPLEMENTED, "grpc: more than one request message for a unary method"))
        request = message
      }
    } catch (error) {
      fail(asGrpcError(path, error, options))
    }
  })
  stream.on("end", () => {
    if (failed) return
    if (request === undefined || reader.hasPartialMessage) {
      return fail(new GrpcError(Status.INTERNAL, "grpc: the request message is missing or truncated"))
    }
    let answer: Promise<Uint8Array> | Uint8Array
    try {
      answer = method.handle(request, { headers })
    } catch (error) {
      return fail(asGrpcError(path, error, options))
    }
    if (answer instanceof Uint8Array) return respondWithMessage(stream, answer)
    answer.then(
      (response) => respondWithMessage(stream, response),
      (error: unknown) => fail(asGrpcError(path, error, options)),
    )
  })
}

function respondWithMessage(stream: http2.ServerHttp2Stream, response: Uint8Array): void {
  if (stream.destroyed || stream.closed) return // the client went away; nothing to tell it
  stream.on("wantTrailers", sendOkTrailers) // emitted once per stream
  stream.respond(RESPONSE_HEADERS_RAW, MESSAGE_OPTIONS)
  stream.end(frameMessage(response))
}

function serveStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  path: string,
  method: StreamMethod,
  options: GrpcServerOptions,
): void {
  const reader = new MessageReader(options.maxReceiveMessageBytes)
  let ended = false
  let trailers: http2.OutgoingHttpHeaders = OK_TRAILERS
  stream.respond(RESPONSE_HEADERS_RAW, MESSAGE_OPTIONS)
  stream.on("wantTrailers", () => stream.sendTrailers(trailers))
  const call: ServerStream = {
    headers,
    get closed() {
      return ended || stream.destroyed || stream.closed
    },
    send(message) {
      if (this.closed) return false
      stream.write(frameMessage(message))
      return true
    },
    end(error) {
      if (ended) return
      ended = true
      if (error !== undefined) trailers = errorTrailers(error)
      if (!stream.destroyed && !stream.closed) stream.end()
    },
  }
  const handlers = method.open(call)
  let finished = false
  const finish = (error: GrpcError | undefined): void => {
    if (finished) return
    finished = true
    handlers.onEnd(error)
  }
  stream.on("data", (chunk: Buffer) => {
    if (ended) return
    let messages: ReadonlyArray<Buffer>
    try {
      messages = reader.push(chunk)
    } catch (error) {
      const grpcError = asGrpcError(path, error, options)
      call.end(grpcError)
      return finish(grpcError)
    }
    for (const message of messages) handlers.onMessage(message)
  })
  stream.on("end", () => finish(undefined))
  stream.on("close", () => finish(ended ? undefined : new GrpcError(Status.CANCELLED, "grpc: the client cancelled the call")))
  stream.on("error", ignoreStreamError) // a reset by the client surfaces as "close"
}

/** The 'stream' listener for an http2 server (plain or TLS). */
export function grpcStreamListener(options: GrpcServerOptions) {
  return (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    stream.on("error", ignoreStreamError)
    const rawPath = headers[HTTP2_HEADER_PATH]
    const path = typeof rawPath === "string" ? rawPath : ""
    const method = options.methods.get(path)
    if (method === undefined) {
      const service = path.split("/")[1] ?? ""
      const known = [...options.methods.keys()].some((p) => p.startsWith(`/${service}/`))
      const text = known ? `unknown method ${path.split("/")[2] ?? ""} for service ${service}` : `unknown service ${service}`
      stream.resume()
      return respondWithError(stream, new GrpcError(Status.UNIMPLEMENTED, text))
    }
    if (method.kind === "unary") serveUnary(stream, headers, path, method, options)
    else serveStream(stream, headers, path, method, options)
  }
}
