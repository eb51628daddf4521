// What a peer can get wrong on the wire: a frame too large, a bad checksum, bytes that do not
// decode, a frame out of place. The transport drops that peer's connection and keeps running;
// nothing a peer sends may raise an AssertionFailure (those are our own bugs and stop the node).
export class PeerProtocolError extends Error {
  override readonly name = "PeerProtocolError"
}
