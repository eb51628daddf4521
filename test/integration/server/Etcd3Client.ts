// The `etcd3` npm client as the tests use it: loopback without proxies, and every unary call
// bounded, so a stuck server fails a test instead of hanging it.
import { Etcd3 } from "etcd3"

const unaryDeadlineMs = 15_000

export function etcd3Client(endpoint: string): Etcd3 {
  return new Etcd3({
    hosts: `http://${endpoint}`,
    grpcOptions: { "grpc.enable_http_proxy": 0 },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + unaryDeadlineMs }),
  })
}
