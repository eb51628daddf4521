// HTTP/2 frame layout (RFC 9113 section 4.1 and 6): the numbers the rewriter reads and writes.

export const FRAME_HEADER_BYTES = 9
/** Every HTTP/2 endpoint accepts frames this large (SETTINGS_MAX_FRAME_SIZE's floor). */
export const FRAME_PAYLOAD_BYTES_MIN_MAX = 16384
/** Stream dependency (4 bytes) and weight (1 byte) of a HEADERS frame with PRIORITY. */
export const PRIORITY_BYTES = 5
export const CONNECTION_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

export const FrameType = { DATA: 0x0, HEADERS: 0x1, SETTINGS: 0x4, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9 } as const

export const FrameFlag = { ACK: 0x1, END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const
