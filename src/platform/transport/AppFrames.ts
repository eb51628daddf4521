// The server's own frames between members: proposals a follower forwards to the leader (opaque
// entry data), ReadIndex requests and answers (a follower asks the leader for a read index), and
// calls with their results (a request another member serves, its method and body opaque here).
import type { ByteReader } from "./ByteReader.ts"
import type { ByteWriter } from "./ByteWriter.ts"
import { PeerProtocolError } from "./ProtocolError.ts"

export interface ReadIndexRequest {
  readonly requestId: number
}
export type ReadIndexResponse =
  | { readonly requestId: number; readonly index: number }
  | { readonly requestId: number; readonly error: string }

export interface Call {
  readonly callId: number
  readonly method: string
  readonly body: Uint8Array
}
export type CallResult =
  | { readonly callId: number; readonly body: Uint8Array }
  | { readonly callId: number; readonly errorCode: number; readonly errorMessage: string }

export function encodeForward(w: ByteWriter, datas: ReadonlyArray<Uint8Array>): void {
  w.varint(datas.length)
  for (const data of datas) w.byteString(data)
}

export function decodeForward(r: ByteReader): Uint8Array[] {
  const count = r.count("forwarded proposal count", 1)
  const datas: Uint8Array[] = []
  for (let k = 0; k < count; k++) datas.push(r.byteString("forwarded proposal"))
  r.expectEnd("forwarded proposals")
  return datas
}

export function encodeReadIndexRequest(w: ByteWriter, request: ReadIndexRequest): void {
  w.varint(request.requestId)
}

export function decodeReadIndexRequest(r: ByteReader): ReadIndexRequest {
  const requestId = r.varint("read index request ID")
  r.expectEnd("read index request")
  return { requestId }
}

const answerIndex = 0
const answerError = 1

export function encodeReadIndexResponse(w: ByteWriter, response: ReadIndexResponse): void {
  w.varint(response.requestId)
  if ("error" in response) {
    w.u8(answerError)
    w.string(response.error)
  } else {
    w.u8(answerIndex)
    w.varint(response.index)
  }
}

export function decodeReadIndexResponse(r: ByteReader): ReadIndexResponse {
  const requestId = r.varint("read index response ID")
  const answer = r.u8("read index answer")
  let response: ReadIndexResponse
  if (answer === answerIndex) response = { requestId, index: r.varint("read index") }
  else if (answer === answerError) response = { requestId, error: r.string("read index error") }
  else throw new PeerProtocolError(`unknown read index answer ${answer}`)
  r.expectEnd("read index response")
  return response
}

const resultBody = 0
const resultError = 1

export function encodeCall(w: ByteWriter, call: Call): void {
  w.varint(call.callId)
  w.string(call.method)
  w.byteString(call.body)
}

export function decodeCall(r: ByteReader): Call {
  const callId = r.varint("call ID")
  const method = r.string("call method")
  const body = r.byteString("call body")
  r.expectEnd("call")
  return { callId, method, body }
}

export function encodeCallResult(w: ByteWriter, result: CallResult): void {
  w.varint(result.callId)
  if ("errorCode" in result) {
    w.u8(resultError)
    w.varint(result.errorCode)
    w.string(result.errorMessage)
  } else {
    w.u8(resultBody)
    w.byteString(result.body)
  }
}

export function decodeCallResult(r: ByteReader): CallResult {
  const callId = r.varint("call result ID")
  const answer = r.u8("call result kind")
  let result: CallResult
  if (answer === resultBody) result = { callId, body: r.byteString("call result body") }
  else if (answer === resultError) {
    result = { callId, errorCode: r.varint("call error code"), errorMessage: r.string("call error") }
  } else throw new PeerProtocolError(`unknown call result kind ${answer}`)
  r.expectEnd("call result")
  return result
}
