// What etcdctl prints, with the parts that legitimately differ between two servers replaced by
// placeholders: endpoints and ports, cluster/member/lease IDs, raft terms and indexes, versions,
// database sizes, hashes of stores that hold different lease IDs, and timings. Everything else
// (keys, values, revisions, versions of keys, counts, error texts, exit codes) must agree.

/** A value seen on one server and the placeholder that stands for it in compared output. */
export interface KnownValue {
  readonly value: bigint
  readonly label: string
}

export interface NormalizeContext {
  readonly endpoint: string
  readonly known: ReadonlyArray<KnownValue>
  /** Paths (e.g. a snapshot file) that differ per server. */
  readonly paths: ReadonlyArray<{ readonly path: string; readonly label: string }>
}

const hex = (value: bigint) => value.toString(16)

export function normalizeText(text: string, context: NormalizeContext): string {
  let out = text.replaceAll(context.endpoint, "<endpoint>")
  for (const { path, label } of context.paths) out = out.replaceAll(path, label)
  // Peer URLs use ports the kernel picked for each server.
  out = out.replace(/http:\/\/127\.0\.0\.1:\d+/g, "http://127.0.0.1:<port>")
  // Longest first, so a decimal ID never matches inside a longer one.
  // etcdctl prints IDs in decimal (json, fields), in hex, and zero-padded to 16 hex digits.
  const forms = context.known.flatMap(({ value, label }) => [
    { form: value.toString(), label },
    { form: hex(value), label },
    { form: hex(value).padStart(16, "0"), label },
  ])
  forms.sort((a, b) => b.form.length - a.form.length)
  for (const { form, label } of forms) {
    out = out.replace(new RegExp(`(?<![0-9a-f])${form}(?![0-9a-f])`, "g"), label)
  }
  // A one-member etcd campaigns after its pre-vote, so its terms differ from verikv's.
  out = out.replace(/"raft_term":\d+/g, '"raft_term":<term>').replace(/"RaftTerm" : \d+/g, '"RaftTerm" : <term>')
  return out
}

/**
 * What etcdctl reports on stderr: its `Error:` lines and `endpoint health` verdicts (which go to
 * stderr too). Its client logs (JSON lines with timestamps) are noise.
 */
export function errorLines(stderr: string): string {
  return stderr
    .split("\n")
    .filter((line) => /^(Error:|Failed|watch was canceled)/.test(line) || / is (un)?healthy: /.test(line))
    .join("\n")
}

/**
 * `endpoint status` (simple/table/json): version, DB size, raft term, index and applied index
 * depend on how each server boots and stores data, not on the client's requests.
 */
export function normalizeStatus(text: string): string {
  return text
    .replace(/"version":"[^"]*"/g, '"version":<v>')
    .replace(/"(dbSize|dbSizeInUse|raftIndex|raftTerm|raftAppliedIndex|raft_term|raft_index|raft_applied_index|db_size|db_size_in_use)":\d+/g, '"$1":<n>')
    .replace(/^((?:http:\/\/)?<endpoint>, <member>), [^,]+, [^,]+, (true|false), (true|false), \d+, \d+, \d+,/gm, "$1, <v>, <size>, $2, $3, <term>, <index>, <applied>,")
}

/** `endpoint health` prints the time the proposal took. */
export function normalizeHealth(text: string): string {
  return text.replace(/took = [0-9.]+(ns|µs|us|ms|s)/g, "took = <duration>")
}

/** etcd lists a lease's keys in Go map order, which changes from run to run. */
export function sortAttachedKeys(text: string): string {
  const sorted = (list: string, separator: string) => list.split(separator).sort().join(separator)
  return text
    .replace(/attached keys\(\[([^\]]*)\]\)/g, (_, keys: string) => `attached keys([${sorted(keys, " ")}])`)
    .replace(/"keys":\[([^\]]*)\]/g, (_, keys: string) => `"keys":[${sorted(keys, ",")}]`)
}

/**
 * `watch -w json` prints one line per WatchResponse; how events are grouped into responses (and
 * so each response's header revision) depends on whether they arrived live or as catch-up.
 * Compared: the events, one per line, and any response that cancels or reports a compaction.
 */
export function normalizeWatchJson(text: string): string {
  const lines: Array<string> = []
  for (const line of text.split("\n").filter((l) => l.trim() !== "")) {
    // Placeholders (<cluster>, ...) are not JSON; quote them.
    const response = JSON.parse(line.replace(/<(\w+)>/g, '"<$1>"')) as {
      Events?: ReadonlyArray<unknown>
      Canceled?: boolean
      CompactRevision?: number
    }
    for (const event of response.Events ?? []) lines.push(JSON.stringify(event))
    if (response.Canceled === true || (response.CompactRevision ?? 0) !== 0) {
      lines.push(JSON.stringify({ Canceled: response.Canceled, CompactRevision: response.CompactRevision }))
    }
  }
  return lines.join("\n")
}

/** `lease timetolive` prints the seconds left, which move on with the clock. */
export function normalizeRemaining(text: string): string {
  return text.replace(/remaining\(-?\d+s\)/g, "remaining(<s>)").replace(/"ttl":\d+/g, '"ttl":<s>')
}
