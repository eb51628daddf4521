// gRPC status codes (grpc/doc/statuscodes.md) and the error a handler throws to answer with one.

export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const
export type Status = (typeof Status)[keyof typeof Status]

/** Thrown (or rejected) by a handler: the call ends with this status and message. */
export class GrpcError extends Error {
  readonly code: Status
  constructor(code: Status, message: string) {
    super(message)
    this.code = code
  }
}

/**
 * grpc-message is percent-encoded (gRPC over HTTP/2 spec): bytes outside printable ASCII and '%'
 * itself are escaped, so any error text survives the header.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false
      break
    }
  }
  if (plain) return message
  let out = ""
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(byte)
  }
  return out
}
