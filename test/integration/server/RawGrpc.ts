// gRPC below the codec, for feeding a server bytes no proper client would send: unary calls with
// arbitrary request bytes (@grpc/grpc-js with identity serializers), and a bare HTTP/2 stream
// whose socket a test can destroy mid-call.
import * as grpc from "@grpc/grpc-js"
import http2 from "node:http2"
import { frameMessage } from "../../../src/platform/grpc/Framing.ts"
import { delay } from "../../support/EtcdProcess.ts"

const callDeadlineMs = 15_000

export type RawOutcome =
  | { readonly ok: true; readonly response: Buffer }
  | { readonly ok: false; readonly code: number; readonly message: string }

/** One unary call to `path` (e.g. "/etcdserverpb.KV/Put") with `request` sent as is. */
export function rawUnary(endpoint: string, path: string, request: Buffer): Promise<RawOutcome> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), { "grpc.enable_http_proxy": 0 })
  return new Promise<RawOutcome>((resolve) => {
    client.makeUnaryRequest(
      path,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + callDeadlineMs },
      (error, response) => {
        if (error === null && response !== undefined) resolve({ ok: true, response })
        else resolve({ ok: false, code: error?.code ?? -1, message: error?.details ?? "no error and no response" })
      },
    )
  }).finally(() => client.close())
}

export interface RawStream {
  /** Everything the server sent on the stream so far (gRPC frames, undecoded). */
  readonly received: () => Buffer
  /** Resolves once at least `bytes` bytes arrived; rejects after a bound. */
  readonly waitForBytes: (bytes: number) => Promise<void>
  /** Drops the TCP connection without a goodbye: no END_STREAM, no RST_STREAM, no GOAWAY. */
  readonly vanish: () => void
}

/**
 * Opens a call on a fresh connection and sends `messages` (each framed), then `trailing` bytes as
 * they are (e.g. half a frame), leaving the request open.
 */
export function openRawStream(endpoint: string, path: string, messages: ReadonlyArray<Uint8Array>, trailing?: Buffer): RawStream {
  const session = http2.connect(`http://${endpoint}`)
  session.on("error", () => {}) // a destroyed socket is the point
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  })
  stream.on("error", () => {})
  const chunks: Array<Buffer> = []
  stream.on("data", (chunk: Buffer) => chunks.push(chunk))
  for (const message of messages) stream.write(frameMessage(message))
  if (trailing !== undefined) stream.write(trailing)
  const received = () => Buffer.concat(chunks)
  return {
    received,
    waitForBytes: async (bytes) => {
      const deadline = Date.now() + callDeadlineMs
      while (received().length < bytes) {
        if (Date.now() > deadline) throw new Error(`only ${received().length} of ${bytes} bytes arrived on ${path}`)
        await delay(10)
      }
    },
    vanish: () => session.socket.destroy(),
  }
}
