// Field-by-field comparison of two answers (etcd's and the core's) that names every differing
// field by its path, e.g. `response.responses[1].response.kvs[0].version: etcd 2, core 3`.
// Bytes print as text with \xNN escapes, lease IDs as bigints, so a report reads like the data.

export interface FieldDifference {
  readonly path: string
  readonly etcd: string
  readonly core: string
}

const differencesMax = 20

export function fieldDifferences(etcd: unknown, core: unknown): ReadonlyArray<FieldDifference> {
  const found: FieldDifference[] = []
  walk(etcd, core, "", found)
  return found
}

function walk(etcd: unknown, core: unknown, path: string, found: FieldDifference[]): void {
  if (found.length >= differencesMax) return
  if (isRecordOrList(etcd) && isRecordOrList(core) && Array.isArray(etcd) === Array.isArray(core)) {
    if (Array.isArray(etcd) && Array.isArray(core)) {
      if (etcd.length !== core.length) {
        found.push({ path: `${path}.length`, etcd: String(etcd.length), core: String(core.length) })
      }
      const shared = Math.min(etcd.length, core.length)
      for (let i = 0; i < shared; i++) walk(etcd[i], core[i], `${path}[${i}]`, found)
      return
    }
    const etcdRecord = etcd as Record<string, unknown>
    const coreRecord = core as Record<string, unknown>
    const fields = new Set([...Object.keys(etcdRecord), ...Object.keys(coreRecord)])
    for (const field of fields) {
      walk(etcdRecord[field], coreRecord[field], path === "" ? field : `${path}.${field}`, found)
    }
    return
  }
  const etcdText = describeValue(etcd)
  const coreText = describeValue(core)
  if (etcdText !== coreText) found.push({ path: path === "" ? "(value)" : path, etcd: etcdText, core: coreText })
}

function isRecordOrList(value: unknown): value is object {
  return typeof value === "object" && value !== null && !(value instanceof Uint8Array)
}

/** A compact, unambiguous rendering of any answer, for reports. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "(absent)"
  if (value === null) return "null"
  if (value instanceof Uint8Array) return JSON.stringify(bytesText(value))
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value !== "object") return String(value)
  if (Array.isArray(value)) return `[${value.map(describeValue).join(", ")}]`
  const fields = Object.entries(value as Record<string, unknown>)
    .filter(([, field]) => field !== undefined)
    .map(([name, field]) => `${name}: ${describeValue(field)}`)
  return `{${fields.join(", ")}}`
}

export function bytesText(bytes: Uint8Array): string {
  let text = ""
  for (const byte of bytes) {
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`
  }
  return text
}
