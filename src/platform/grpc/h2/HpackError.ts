// A header block that breaks RFC 7541: the connection carrying it cannot be decoded any further,
// because the sender's dynamic table and ours may no longer agree.
export class HpackError extends Error {
  override readonly name = "HpackError"
}
