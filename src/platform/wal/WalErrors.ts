// Errors that stop a node from starting on a damaged WAL, or from writing after a failed sync.

/** Damage that recovery must not repair silently: it names the file and the byte offset. */
export class WalCorruptionError extends Error {
  override readonly name = "WalCorruptionError"
  readonly fileName: string
  readonly offset: number
  constructor(fileName: string, offset: number, reason: string) {
    super(`wal: ${fileName}: ${reason} at byte offset ${offset}; refusing to start`)
    this.fileName = fileName
    this.offset = offset
  }
}

/**
 * A write or fdatasync failed. After a failed fdatasync the kernel may have dropped the dirty
 * pages (the "fsyncgate" lesson), so retrying could acknowledge lost data: the WAL refuses every
 * later save, and the node must exit and recover from disk.
 */
export class WalFailedError extends Error {
  override readonly name = "WalFailedError"
  constructor(cause: unknown) {
    super(`wal: a write or sync failed earlier; restart to recover from disk (${String(cause)})`)
    this.cause = cause
  }
}
