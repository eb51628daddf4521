// The fault proxy itself, against a plain TCP echo server: it forwards; drop closes, refuse resets,
// blackhole stalls without loss and flows again on heal; a cut by source leaves other sources
// alone; close() leaves no socket open. The partition tests trust it for all of this.
import net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { delay } from "../../support/EtcdProcess.ts"
import { loopbackHost } from "../../support/FreePort.ts"
import { startLoopbackProxy, type LoopbackProxy } from "../../support/LoopbackProxy.ts"

const waitBoundMs = 5000

interface Echo {
  readonly port: number
  readonly open: () => number
  readonly close: () => Promise<void>
}

/** Echoes every byte back; counts its open connections. */
async function startEcho(): Promise<Echo> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, loopbackHost, resolve))
  const address = server.address() as net.AddressInfo
  return {
    port: address.port,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

interface Client {
  readonly socket: net.Socket
  readonly received: () => string
  /** How the connection ended: "open", "closed" or the error code (ECONNRESET). */
  readonly ending: () => string
}

async function connect(port: number, hello = ""): Promise<Client> {
  const socket = net.connect({ host: loopbackHost, port })
  let received = ""
  let ending = "open"
  socket.setEncoding("utf8")
  socket.on("data", (text: string) => (received += text))
  socket.on("error", (error: NodeJS.ErrnoException) => (ending = error.code ?? error.message))
  socket.on("close", () => {
    if (ending === "open") ending = "closed"
  })
  // A reset may come before or after 'connect' (the kernel accepts before the proxy does).
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve)
    socket.once("error", () => resolve())
  })
  if (hello !== "" && !socket.destroyed) socket.write(hello)
  return { socket, received: () => received, ending: () => ending }
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = performance.now() + waitBoundMs
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${waitBoundMs} ms`)
    await delay(10)
  }
}

/** Names a connection by its first line ("from-a\n"). */
const firstLine = (head: Buffer): string | undefined => {
  const newline = head.indexOf(10)
  return newline < 0 ? undefined : head.subarray(0, newline).toString()
}

describe("LoopbackProxy", () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const setUp = async (withNames: boolean): Promise<{ echo: Echo; proxy: LoopbackProxy; clients: Client[] }> => {
    const echo = await startEcho()
    cleanups.push(() => echo.close())
    const proxy = await startLoopbackProxy({ targetPort: echo.port, ...(withNames ? { identify: firstLine } : {}) })
    cleanups.push(() => proxy.close())
    const clients: Client[] = []
    cleanups.push(() => clients.forEach((c) => c.socket.destroy()))
    return { echo, proxy, clients }
  }

  it("forwards both ways", async () => {
    const { proxy, clients } = await setUp(false)
    const client = await connect(proxy.port, "ping")
    clients.push(client)
    await until("the echo", () => client.received() === "ping")
    expect(proxy.stats().forwardedBytes).toBe(8)
  })

  it("drop closes open and new connections, refuse resets them, heal lets new ones through", async () => {
    const { echo, proxy, clients } = await setUp(false)
    const before = await connect(proxy.port, "a")
    clients.push(before)
    await until("the echo", () => before.received() === "a")
    proxy.cut("drop")
    await until("the open connection closed", () => before.ending() === "closed")
    const during = await connect(proxy.port, "b")
    clients.push(during)
    await until("the new connection closed", () => during.ending() === "closed")
    expect(during.received()).toBe("")
    await until("the target's side closed", () => echo.open() === 0)

    proxy.cut("refuse")
    const refused = await connect(proxy.port, "c")
    clients.push(refused)
    await until("the new connection reset", () => refused.ending() === "ECONNRESET")

    proxy.heal()
    const after = await connect(proxy.port, "d")
    clients.push(after)
    await until("the echo after heal", () => after.received() === "d")
    expect(proxy.stats().cutConnections).toBe(3)
  })

  it("blackhole passes nothing and closes nothing; heal delivers what was held, in order", async () => {
    const { proxy, clients } = await setUp(false)
    const held = await connect(proxy.port, "1")
    clients.push(held)
    await until("the echo", () => held.received() === "1")
    proxy.cut("blackhole")
    held.socket.write("2")
    held.socket.write("3")
    const opened = await connect(proxy.port, "x")
    clients.push(opened)
    await delay(300)
    expect(held.received()).toBe("1")
    expect(held.ending()).toBe("open")
    expect(opened.received()).toBe("")
    expect(proxy.stats().held).toBe(2)
    proxy.heal()
    await until("the held bytes", () => held.received() === "123")
    // A connection opened during the blackhole never reached the target: it is closed on heal.
    await until("the connection opened in the blackhole closed", () => opened.ending() === "closed")
    expect(opened.received()).toBe("")
    expect(proxy.stats().held).toBe(0)
  })

  it("a cut by source leaves the other sources' connections alone", async () => {
    const { proxy, clients } = await setUp(true)
    const a = await connect(proxy.port, "from-a\nA")
    const b = await connect(proxy.port, "from-b\nB")
    clients.push(a, b)
    await until("both echoed", () => a.received() === "from-a\nA" && b.received() === "from-b\nB")
    proxy.cut("drop", new Set(["from-a"]))
    await until("a's connection closed", () => a.ending() === "closed")
    const a2 = await connect(proxy.port, "from-a\nagain")
    const b2 = await connect(proxy.port, "from-b\nagain")
    clients.push(a2, b2)
    await until("b's new connection echoed", () => b2.received() === "from-b\nagain")
    await until("a's new connection closed", () => a2.ending() === "closed")
    b.socket.write("+")
    await until("b's old connection still echoes", () => b.received() === "from-b\nB+")
    expect(a2.received()).toBe("")
  })

  it("a new cut replaces the old one: what it no longer covers flows again", async () => {
    const { proxy, clients } = await setUp(true)
    const a = await connect(proxy.port, "from-a\n")
    const b = await connect(proxy.port, "from-b\n")
    clients.push(a, b)
    await until("both echoed", () => a.received() === "from-a\n" && b.received() === "from-b\n")
    proxy.cut("blackhole", new Set(["from-a"]))
    a.socket.write("held")
    await delay(100)
    expect(a.received()).toBe("from-a\n")
    proxy.cut("drop", new Set(["from-b"]))
    await until("a's held bytes delivered", () => a.received() === "from-a\nheld")
    await until("b's connection closed", () => b.ending() === "closed")
  })

  it("close() leaves no connection open on either side", async () => {
    const { echo, proxy, clients } = await setUp(false)
    const client = await connect(proxy.port, "z")
    clients.push(client)
    await until("the echo", () => client.received() === "z")
    expect(echo.open()).toBe(1)
    await proxy.close()
    await until("the client side closed", () => client.ending() === "closed")
    await until("the target side closed", () => echo.open() === 0)
  })
})
