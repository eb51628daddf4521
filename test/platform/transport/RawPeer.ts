// Raw sockets that speak (or garble) the peer protocol by hand, for tests of what a misbehaving
// peer can do: frames built byte by byte, a dialer that sends anything, a listener that stalls.
import * as net from "node:net"
import { ByteWriter } from "../../../src/platform/transport/ByteWriter.ts"
import { beginFrame, endFrame, FrameType } from "../../../src/platform/transport/Frame.ts"
import { FrameDecoder } from "../../../src/platform/transport/FrameDecoder.ts"
import { encodeHello, protocolVersion, type Hello } from "../../../src/platform/transport/Handshake.ts"
import { encodeMessage } from "../../../src/platform/transport/MessageCodec.ts"
import type { Message } from "../../../src/raft/Types.ts"
import { loopbackHost } from "../../support/FreePort.ts"

export function frame(type: FrameType, writePayload: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(64)
  const start = beginFrame(w, type)
  writePayload(w)
  endFrame(w, start)
  return w.take()
}

export function helloFrame(hello: Partial<Hello> & Pick<Hello, "clusterId" | "senderMemberId" | "receiverMemberId">): Buffer {
  return frame(FrameType.Hello, (w) => encodeHello(w, { version: protocolVersion, ...hello }))
}

export const messageFrame = (m: Message): Buffer => frame(FrameType.RaftMessage, (w) => encodeMessage(w, m))

export interface RawDialer {
  readonly socket: net.Socket
  readonly replies: Array<{ type: FrameType; payload: Uint8Array }>
  /** Whether the transport has closed the connection. */
  isClosed(): boolean
}

export async function rawDial(port: number): Promise<RawDialer> {
  const socket = net.connect({ host: loopbackHost, port })
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject))
  const replies: RawDialer["replies"] = []
  const decoder = new FrameDecoder(1024)
  socket.on("data", (chunk: Buffer) => decoder.push(chunk, (type, payload) => replies.push({ type, payload: new Uint8Array(payload) })))
  socket.on("error", () => {}) // a reset after the transport drops us is expected
  let closed = false
  socket.once("close", () => (closed = true))
  return { socket, replies, isClosed: () => closed }
}

/** A listener that accepts every Hello and then never reads again: a peer that stalled. */
export async function stalledListener(): Promise<{ readonly url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("error", () => {})
    const decoder = new FrameDecoder(1 << 20)
    socket.on("data", (chunk: Buffer) => decoder.push(chunk, (type) => {
      if (type !== FrameType.Hello) return
      socket.write(frame(FrameType.HelloAccepted, () => {}))
      socket.pause()
    }))
  })
  await new Promise<void>((resolve) => server.listen(0, loopbackHost, resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `http://${loopbackHost}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}
