// Free TCP ports on the loopback interface, for test servers. The kernel picks each port (bind to
// 0); the port is released before the caller binds it, so a caller must retry if it is taken.
import net from "node:net"

export const loopbackHost = "127.0.0.1"

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, loopbackHost, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port was assigned"))))
    })
  })
}
