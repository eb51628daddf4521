// etcd's errors as a client sees them: gRPC status code and message, from etcd 3.4's
// etcdserver/api/v3rpc/rpctypes/error.go (the texts are facts of the wire protocol).
import type { KvError } from "./Api.ts"

/** gRPC status codes used below (google.golang.org/grpc/codes). */
const INVALID_ARGUMENT = 3
const NOT_FOUND = 5
const FAILED_PRECONDITION = 9
const OUT_OF_RANGE = 11

const error = (code: number, message: string): KvError => ({ code, message })

export const KvErrors = {
  emptyKey: error(INVALID_ARGUMENT, "etcdserver: key is not provided"),
  keyNotFound: error(INVALID_ARGUMENT, "etcdserver: key not found"),
  valueProvided: error(INVALID_ARGUMENT, "etcdserver: value is provided"),
  leaseProvided: error(INVALID_ARGUMENT, "etcdserver: lease is provided"),
  tooManyOps: error(INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
  duplicateKey: error(INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
  compacted: error(OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
  futureRevision: error(OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
  leaseNotFound: error(NOT_FOUND, "etcdserver: requested lease not found"),
  leaseExists: error(FAILED_PRECONDITION, "etcdserver: lease already exists"),
  leaseTtlTooLarge: error(OUT_OF_RANGE, "etcdserver: too large lease TTL"),
} as const

/** Thrown inside the core to abandon a request; caught at the apply boundary and turned into a result. */
export class KvRequestError extends Error {
  readonly error: KvError
  constructor(error: KvError) {
    super(error.message)
    this.error = error
  }
}

export function fail(error: KvError): never {
  throw new KvRequestError(error)
}
