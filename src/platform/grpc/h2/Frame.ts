// HTTP/2 frame layout and codes (RFC 9113 sections 4.1, 6, 7).

export const FRAME_HEADER_BYTES = 9
/** Every HTTP/2 endpoint accepts frames this large (SETTINGS_MAX_FRAME_SIZE's floor). */
export const FRAME_PAYLOAD_BYTES_MIN_MAX = 16384
/** The largest SETTINGS_MAX_FRAME_SIZE a peer may announce (2^24 - 1). */
export const FRAME_PAYLOAD_BYTES_MAX_MAX = 16777215
/** Stream dependency (4 bytes) and weight (1 byte) of a HEADERS frame with PRIORITY. */
export const PRIORITY_BYTES = 5
/** Flow-control windows start here (SETTINGS_INITIAL_WINDOW_SIZE's default). */
export const DEFAULT_WINDOW_BYTES = 65535
/** No flow-control window may exceed 2^31 - 1. */
export const WINDOW_BYTES_MAX = 2147483647
export const CONNECTION_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

export const FrameFlag = { ACK: 0x1, END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Writes a frame header at `at` in `out`. */
export function writeFrameHeader(out: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  out[at] = length >>> 16
  out[at + 1] = (length >>> 8) & 0xff
  out[at + 2] = length & 0xff
  out[at + 3] = type
  out[at + 4] = flags
  out.writeUInt32BE(streamId, at + 5)
}

/** A whole frame in a fresh buffer. */
export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  writeFrameHeader(out, 0, payload.length, type, flags, streamId)
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}

const EMPTY = new Uint8Array(0)
