// Receives a large snapshot as a head frame and data chunks, and gives back one
// InstallSnapshotRequest once the last byte has arrived. One snapshot at a time per connection;
// chunks arrive in order because the connection is one TCP stream.
import { assert } from "../../assert.ts"
import type { InstallSnapshotRequest } from "../../raft/Types.ts"
import type { SnapshotHead } from "./MessageCodec.ts"
import { PeerProtocolError } from "./ProtocolError.ts"

export class SnapshotAssembler {
  private readonly dataBytesMax: number
  private head: SnapshotHead | undefined = undefined
  private data = new Uint8Array(0)
  /** Invariant: receivedBytes < data.length while a snapshot is in progress. */
  private receivedBytes = 0

  constructor(dataBytesMax: number) {
    this.dataBytesMax = dataBytesMax
  }

  get inProgress(): boolean {
    return this.head !== undefined
  }

  begin(head: SnapshotHead): InstallSnapshotRequest | undefined {
    if (this.head !== undefined) {
      throw new PeerProtocolError("a snapshot head before the previous snapshot was complete")
    }
    if (head.dataBytes > this.dataBytesMax) {
      const bytes = head.dataBytes
      const max = this.dataBytesMax
      throw new PeerProtocolError(`snapshot of ${bytes} bytes exceeds the maximum of ${max}`)
    }
    this.head = head
    this.data = new Uint8Array(head.dataBytes)
    this.receivedBytes = 0
    return this.maybeComplete()
  }

  append(chunk: Uint8Array): InstallSnapshotRequest | undefined {
    if (this.head === undefined) {
      throw new PeerProtocolError("a snapshot chunk without a snapshot head")
    }
    const toGo = this.data.length - this.receivedBytes
    if (chunk.length === 0 || chunk.length > toGo) {
      throw new PeerProtocolError(`a snapshot chunk of ${chunk.length} bytes with ${toGo} to go`)
    }
    this.data.set(chunk, this.receivedBytes)
    this.receivedBytes += chunk.length
    return this.maybeComplete()
  }

  private maybeComplete(): InstallSnapshotRequest | undefined {
    const head = this.head
    assert(head !== undefined, "SnapshotAssembler: no snapshot in progress")
    if (this.receivedBytes < this.data.length) return undefined
    assert(this.receivedBytes === this.data.length, "SnapshotAssembler: more than announced")
    const message: InstallSnapshotRequest = {
      type: "InstallSnapshotRequest", from: head.from, to: head.to, term: head.term,
      snapshot: { meta: head.meta, data: this.data },
    }
    this.head = undefined
    this.data = new Uint8Array(0)
    this.receivedBytes = 0
    return message
  }
}
