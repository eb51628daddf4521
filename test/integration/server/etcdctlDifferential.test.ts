// etcdctl 3.4 drives a fresh verikv and a fresh real etcd 3.4 with the same command sequence, and
// what it prints (stdout, its `Error:` lines, the exit code) must agree once Normalize.ts has
// replaced what legitimately differs (IDs, ports, terms, sizes, timings). The sequence is one
// story: later steps read what earlier ones wrote, so revisions line up only if every step did.
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { etcdctl, startEtcdctl, type EtcdctlResult } from "../../support/Etcdctl.ts"
import { etcdSuiteSkipped, startEtcd, type EtcdProcess } from "../../support/EtcdProcess.ts"
import { startVerikv, type VerikvProcess } from "../../support/VerikvProcess.ts"
import {
  errorLines,
  type KnownValue,
  normalizeHealth,
  normalizeRemaining,
  normalizeStatus,
  normalizeWatchJson,
  sortAttachedKeys,
  normalizeText,
} from "./Normalize.ts"

/** One server as the script sees it: where it listens and the IDs it handed out so far. */
interface Target {
  readonly name: "etcd" | "verikv"
  readonly endpoint: string
  readonly workDir: string
  readonly known: Array<KnownValue>
  readonly leases: Array<bigint>
}

interface Observation {
  readonly code: number | null
  readonly stdout: string
  readonly errors: string
}

interface Step {
  readonly title: string
  readonly run: (target: Target) => Promise<Observation>
  /** Step-specific normalization, after the common one. */
  readonly normalize?: (text: string) => string
  /**
   * A known disagreement and its cause: the step still runs on both (it may write), and the test
   * checks that the outputs still differ, so a fix shows up as a failure asking to drop this.
   */
  readonly differs?: string
}

const observe = (result: EtcdctlResult): Observation => ({
  code: result.code,
  stdout: result.stdout,
  errors: errorLines(result.stderr),
})

type Args = ReadonlyArray<string> | ((target: Target) => ReadonlyArray<string>)

interface CommandOptions {
  readonly stdin?: string
  readonly normalize?: (text: string) => string
  readonly title?: string
  readonly differs?: string
}

function command(args: Args, options: CommandOptions = {}): Step {
  const argsOf = (target: Target) => (typeof args === "function" ? args(target) : args)
  const title = options.title ?? `etcdctl ${typeof args === "function" ? "(per-server args)" : args.join(" ")}`
  return {
    title: options.differs === undefined ? title : `${title} [differs: ${options.differs}]`,
    run: async (target) => observe(await etcdctl(target.endpoint, argsOf(target), options.stdin ?? "")),
    ...(options.normalize ? { normalize: options.normalize } : {}),
    ...(options.differs === undefined ? {} : { differs: options.differs }),
  }
}

const lease = (target: Target, n: number): string => {
  const id = target.leases[n]
  if (id === undefined) throw new Error(`${target.name}: lease ${n} was never granted`)
  return id.toString(16)
}

/** `lease grant`: remembers the ID, which each server picks its own way. */
function grantLease(ttlSeconds: number): Step {
  return {
    title: `etcdctl lease grant ${ttlSeconds}`,
    run: async (target) => {
      const result = await etcdctl(target.endpoint, ["lease", "grant", String(ttlSeconds)])
      const match = /^lease ([0-9a-f]+) granted/.exec(result.stdout)
      if (match?.[1] !== undefined) {
        const id = BigInt(`0x${match[1]}`)
        target.leases.push(id)
        target.known.push({ value: id, label: `<lease${target.leases.length - 1}>` })
      }
      return observe(result)
    },
  }
}

/** `member list -w json`: learns the cluster and member IDs for normalization. */
const learnIds: Step = {
  title: "etcdctl member list -w json",
  run: async (target) => {
    const result = await etcdctl(target.endpoint, ["member", "list", "-w", "json"])
    const cluster = /"cluster_id":(\d+)/.exec(result.stdout)?.[1]
    const member = /"member_id":(\d+)/.exec(result.stdout)?.[1]
    if (cluster !== undefined) target.known.push({ value: BigInt(cluster), label: "<cluster>" })
    if (member !== undefined) target.known.push({ value: BigInt(member), label: "<member>" })
    return observe(result)
  },
}

async function currentRevision(target: Target): Promise<number> {
  const result = await etcdctl(target.endpoint, ["get", "revision-probe", "-w", "json"])
  const revision = /"revision":(\d+)/.exec(result.stdout)?.[1]
  if (revision === undefined) throw new Error(`${target.name}: no revision in ${result.stdout} ${result.stderr}`)
  return Number(revision)
}

/**
 * `etcdctl watch <flags>` in the background from the next revision on, so the events it prints
 * do not depend on when its watch was established; then the writes; then a marker put whose event
 * tells that all earlier ones were printed; then SIGTERM.
 */
function watch(
  flags: ReadonlyArray<string>,
  writes: ReadonlyArray<ReadonlyArray<string>>,
  marker: string,
  markerPrinted = `${marker}\nend\n`,
  normalize?: (text: string) => string,
): Step {
  return {
    title: `etcdctl watch ${flags.join(" ")} while ${writes.map((w) => w.join(" ")).join("; ")}`,
    run: async (target) => {
      const from = (await currentRevision(target)) + 1
      const watcher = startEtcdctl(target.endpoint, ["watch", `--rev=${from}`, ...flags])
      try {
        for (const write of writes) {
          const result = await etcdctl(target.endpoint, write)
          if (result.code !== 0) throw new Error(`${target.name}: ${write.join(" ")} failed: ${result.stderr}`)
        }
        await etcdctl(target.endpoint, ["put", marker, "end"])
        await watcher.waitFor(markerPrinted)
      } finally {
        await watcher.stop()
      }
      return { code: 0, stdout: watcher.output(), errors: "" }
    },
    ...(normalize ? { normalize } : {}),
  }
}

/**
 * `etcdctl watch -i`: two watchers on one gRPC stream, then a progress request. The two watchers
 * print from their own goroutines, so only each watcher's own order is compared: the events are
 * split by prefix. The progress notification names the revision after the last write.
 */
function interactiveWatch(): Step {
  const threeLineEvents = (text: string) => {
    const lines = text.split("\n")
    const events: Array<string> = []
    for (let at = 0; at + 2 < lines.length && /^(PUT|DELETE)$/.test(lines[at] ?? ""); at += 3) {
      events.push(lines.slice(at, at + 3).join(" "))
    }
    return events
  }
  return {
    title: "etcdctl watch -i (two watchers on one stream, then progress)",
    run: async (target) => {
      const from = (await currentRevision(target)) + 1
      const watcher = startEtcdctl(target.endpoint, ["watch", "-i"])
      try {
        watcher.write(`watch --rev=${from} --prefix ia/\nwatch --rev=${from} --prefix ib/\n`)
        for (const write of [["put", "ia/1", "x"], ["put", "ib/1", "y"], ["put", "ia/1", "z"], ["del", "ib/1"], ["put", "ia/zz", "end"], ["put", "ib/zz", "end"]]) {
          const result = await etcdctl(target.endpoint, write)
          if (result.code !== 0) throw new Error(`${target.name}: ${write.join(" ")} failed: ${result.stderr}`)
        }
        await watcher.waitFor("ia/zz\nend\n")
        await watcher.waitFor("ib/zz\nend\n")
        watcher.write("progress\n")
        await watcher.waitFor("progress notify:")
      } finally {
        await watcher.stop()
      }
      const text = watcher.output()
      const progress = text.split("\n").filter((line) => line.startsWith("progress notify:"))
      const events = threeLineEvents(text.split("\n").filter((line) => !line.startsWith("progress notify:")).join("\n"))
      const byPrefix = (prefix: string) => events.filter((event) => event.split(" ")[1]?.startsWith(prefix))
      return { code: 0, stdout: [...byPrefix("ia/"), "--", ...byPrefix("ib/"), "--", ...progress, `events: ${events.length}`].join("\n"), errors: "" }
    },
  }
}

/** A watch from a revision in the past: history replayed, no live writes needed. */
function watchHistory(flags: ReadonlyArray<string>, lastLine: string): Step {
  return {
    title: `etcdctl watch ${flags.join(" ")} (history)`,
    run: async (target) => {
      const watcher = startEtcdctl(target.endpoint, ["watch", ...flags])
      try {
        await watcher.waitFor(lastLine)
      } finally {
        await watcher.stop()
      }
      return { code: 0, stdout: watcher.output(), errors: "" }
    },
  }
}

/** `lease keep-alive <id>` in the background until its first renewal is printed (later ones tick on). */
function keepAliveFirstAnswer(n: number): Step {
  return {
    title: `etcdctl lease keep-alive <lease${n}> (first renewal)`,
    run: async (target) => {
      const keeper = startEtcdctl(target.endpoint, ["lease", "keep-alive", lease(target, n)])
      try {
        await keeper.waitFor("keepalived with TTL(")
      } finally {
        await keeper.stop()
      }
      return { code: 0, stdout: keeper.output().split("\n")[0] ?? "", errors: "" }
    },
  }
}

const txnScript = (compares: ReadonlyArray<string>, success: ReadonlyArray<string>, failure: ReadonlyArray<string>) =>
  [...compares, "", ...success, "", ...failure, ""].join("\n") + "\n"

const script: ReadonlyArray<Step> = [
  learnIds,
  command(["member", "list"]),
  command(["put", "k1", "v1", "--prev-kv"], { title: "etcdctl put k1 v1 --prev-kv (new key: no previous)" }),
  command(["put", "k1", "v2", "--prev-kv"]),
  command(["put", "k2", "two"]),
  command(["put", "k3", "three"]),
  command(["put", "a/1", "x"]),
  command(["put", "a/2", "y"]),
  command(["put", "a/3", "zz"]),
  command(["put", "b", "bee"]),
  command(["put", "k1", "--ignore-value"], { title: "etcdctl put k1 --ignore-value (no value: etcd keeps the old one)" }),
  command(["put", "k2", "changed", "--ignore-lease"]),
  command(["put", "k4"], { stdin: "from stdin", title: "etcdctl put k4 (value from stdin)" }),
  command(["del", "k4"]),
  command(["put", "k9", "--ignore-value"]),
  command(["get", "k1"]),
  command(["get", "k1", "-w", "json"]),
  command(["get", "k1", "-w", "fields"]),
  command(["get", "missing"]),
  command(["get", "k", "--prefix"]),
  command(["get", "k", "--from-key"]),
  command(["get", "", "--prefix", "--limit=2"]),
  command(["get", "", "--prefix", "--limit=2", "-w", "json"]),
  command(["get", "k1", "--rev=2"]),
  command(["get", "k1", "--rev=3", "-w", "json"]),
  command(["get", "k1", "--rev=1000"]),
  command(["get", "", "--prefix", "--sort-by=MODIFY", "--order=DESCEND"]),
  command(["get", "", "--prefix", "--sort-by=CREATE", "--order=DESCEND"]),
  command(["get", "", "--prefix", "--sort-by=VERSION", "--order=ASCEND"]),
  command(["get", "", "--prefix", "--sort-by=VALUE", "--order=DESCEND"]),
  command(["get", "", "--prefix", "--sort-by=KEY", "--order=DESCEND", "--limit=3"]),
  command(["get", "a/", "--prefix", "--keys-only"]),
  command(["get", "a/", "--prefix", "--keys-only", "-w", "json"]),
  command(["get", "k1", "--hex"]),
  command(["get", "a/", "--prefix", "--print-value-only"]),
  command(["get", "a/1", "a/3"], { title: "etcdctl get a/1 a/3 (a range [a/1, a/3))" }),
  command(["get", "a/", "--prefix", "-w", "fields"]),
  command(["get", "", "--prefix", "--consistency=s", "--keys-only"]),
  command(["get", ""], { title: "etcdctl get '' (empty key)" }),
  command(["put", "", "v"], { title: "etcdctl put '' v (empty key)" }),
  command(["del", "missing"]),
  command(["del", "k3", "--prev-kv"]),
  command(["del", "a/", "--prefix", "--prev-kv"]),
  command(["del", "k9", "--from-key"]),
  command(["get", "", "--prefix", "-w", "json"]),
  command(["txn"], {
    title: "etcdctl txn (value and version compares hold)",
    stdin: txnScript(['value("k1") = "v2"', 'version("k1") = "3"'], ["put k5 five", "get k1"], ["put k5 nope"]),
  }),
  command(["txn", "-i"], {
    title: "etcdctl txn -i (create compare fails)",
    stdin: txnScript(['create("k1") > "2"'], ["put k6 six"], ["del k2", "get k --prefix"]),
  }),
  command(["txn", "-w", "json"], {
    title: "etcdctl txn -w json (mod compare)",
    stdin: txnScript(['mod("k5") = "0"', 'mod("k1") < "100"'], [], ["put k7 seven", "get k7"]),
  }),
  command(["txn"], {
    title: "etcdctl txn (compare on a missing key, value !=)",
    stdin: txnScript(['value("nope") != "x"', 'version("nope") = "0"'], ["put k8 eight"], []),
  }),
  command(["txn"], { title: "etcdctl txn (malformed compare)", stdin: txnScript(["valu(k1) = 3"], [], []) }),
  command(["txn"], { title: "etcdctl txn (one key put twice)", stdin: txnScript([], ["put d 1", "put d 2"], []) }),
  command(["txn"], {
    title: "etcdctl txn (129 puts: over --max-txn-ops)",
    stdin: txnScript([], Array.from({ length: 129 }, (_, i) => `put many/${i} v`), []),
  }),
  command(["get", "", "--prefix"]),
  command(["endpoint", "hashkv"], { title: "etcdctl endpoint hashkv (before any lease)" }),
  command(["endpoint", "hashkv", "-w", "json"]),
  command(["endpoint", "hashkv", "--cluster"], { title: "etcdctl endpoint hashkv --cluster (member URL as the gRPC target)" }),
  command(["compaction", "5"]),
  command(["get", "k1", "--rev=3"]),
  command(["compaction", "4"]),
  command(["compaction", "1000"]),
  command(["compaction", "6", "--physical"]),
  command(["get", "", "--prefix", "--rev=6", "--keys-only"]),
  command(["endpoint", "hashkv"], { title: "etcdctl endpoint hashkv (after compaction)" }),
  watch(["--prefix", "w/"], [["put", "w/a", "1"], ["put", "w/b", "2"], ["put", "w/a", "3"], ["del", "w/b"]], "w/zz"),
  watch(["--prev-kv", "w/a"], [["put", "w/a", "4"], ["del", "w/a"], ["put", "w/a", "5"]], "w/a"),
  watch(["--prefix", "--prev-kv", "-w", "json", "w/"], [["put", "w/c", "6"], ["del", "w/", "--prefix"]], "w/zz",
    // -w json prints keys in base64; only the marker's re-creation carries a create_revision in
    // its "kv" (the delete's "prev_kv" of the old marker has one too, hence the quoted "kv").
    `"kv":{"key":"${Buffer.from("w/zz").toString("base64")}","create_revision"`, normalizeWatchJson),
  watchHistory(["--rev=7", "--prefix", "w/"], "w/zz\nend\n"),
  interactiveWatch(),
  command(["watch", "--rev=2", "k1"], { title: "etcdctl watch --rev=2 k1 (compacted: the server cancels it)" }),
  grantLease(100),
  grantLease(200),
  command((t) => ["put", "l/1", "x", `--lease=${lease(t, 0)}`], { title: "etcdctl put l/1 x --lease=<lease0>" }),
  command((t) => ["put", "l/2", "y", `--lease=${lease(t, 0)}`], { title: "etcdctl put l/2 y --lease=<lease0>" }),
  command((t) => ["put", "l/3", "z", `--lease=${lease(t, 1)}`], { title: "etcdctl put l/3 z --lease=<lease1>" }),
  command(["put", "l/1", "x2", "--ignore-lease"]),
  command(["put", "l/1", "--ignore-value", "--ignore-lease"]),
  command(["get", "l/", "--prefix", "-w", "json"]),
  command(["put", "l/9", "x", "--lease=1234abcd"], { title: "etcdctl put l/9 x --lease=<unknown lease>" }),
  command((t) => ["lease", "timetolive", lease(t, 0)], { title: "etcdctl lease timetolive <lease0>", normalize: normalizeRemaining }),
  command((t) => ["lease", "timetolive", lease(t, 0), "--keys"], {
    title: "etcdctl lease timetolive <lease0> --keys",
    normalize: (text) => sortAttachedKeys(normalizeRemaining(text)),
  }),
  command((t) => ["lease", "timetolive", lease(t, 0), "--keys", "-w", "json"], {
    title: "etcdctl lease timetolive <lease0> --keys -w json",
    normalize: (text) => sortAttachedKeys(normalizeRemaining(text)),
  }),
  command((t) => ["lease", "keep-alive", "--once", lease(t, 0)], { title: "etcdctl lease keep-alive --once <lease0>" }),
  command(["lease", "list"], { normalize: (text) => text.split("\n").sort().join("\n") }),
  keepAliveFirstAnswer(1),
  command((t) => ["lease", "revoke", lease(t, 0)], { title: "etcdctl lease revoke <lease0>" }),
  command(["get", "l/", "--prefix"]),
  command((t) => ["lease", "timetolive", lease(t, 0)], { title: "etcdctl lease timetolive <lease0> (revoked)", normalize: normalizeRemaining }),
  command((t) => ["lease", "revoke", lease(t, 0)], { title: "etcdctl lease revoke <lease0> (again)" }),
  command(["lease", "timetolive", "1234abcd"], { title: "etcdctl lease timetolive <unknown lease>" }),
  command((t) => ["lease", "keep-alive", "--once", lease(t, 0)], { title: "etcdctl lease keep-alive --once <lease0> (revoked)" }),
  command(["lease", "list"]),
  grantLease(1),
  command(["endpoint", "health"], { normalize: normalizeHealth }),
  command(["endpoint", "status"], { normalize: normalizeStatus }),
  command(["endpoint", "status", "-w", "json"], { normalize: normalizeStatus }),
  command(["endpoint", "health", "--cluster"], { normalize: normalizeHealth }),
  // --cluster: etcdctl dials each member URL as the gRPC target, so :authority is "http://...".
  command(["endpoint", "status", "--cluster"], { normalize: normalizeStatus }),
  command(["defrag", "--cluster"]),
  command(["user", "list"], { differs: "no Auth service: UNIMPLEMENTED" }),
  command(["role", "list"], { differs: "no Auth service: UNIMPLEMENTED" }),
  command(["alarm", "list"]),
  command(["alarm", "disarm"]),
  command(["defrag"]),
  command(["move-leader", "1234"], { title: "etcdctl move-leader <not a member>" }),
  command(["lock", "mylock", "echo", "locked"], { title: "etcdctl lock mylock echo locked (session lease, txn, watch)" }),
  {
    title: "etcdctl snapshot save <file>",
    run: async (target) => {
      const file = path.join(target.workDir, "snapshot.db")
      const result = await etcdctl(target.endpoint, ["snapshot", "save", file])
      const saved = fs.existsSync(file) && fs.statSync(file).size > 0
      return { ...observe(result), stdout: result.stdout.replaceAll(file, "<file>") + `file written: ${saved}\n` }
    },
  },
  command((t) => ["snapshot", "status", path.join(t.workDir, "snapshot.db"), "-w", "json"], {
    title: "etcdctl snapshot status <file>",
    differs: "verikv's snapshot is its own format with a SHA-256 trailer, not a bbolt file: Error: invalid database",
  }),
  command(["get", "", "--prefix", "--keys-only"]),
]

/** Set to a file path to get every step's normalized outputs from both servers written there. */
const transcript = process.env.VERIKV_ETCDCTL_TRANSCRIPT


describe.skipIf(etcdSuiteSkipped())("etcdctl against verikv and etcd 3.4", () => {
  let etcd: EtcdProcess | undefined
  let verikv: VerikvProcess | undefined
  const targets: Array<Target> = []

  beforeAll(async () => {
    ;[etcd, verikv] = await Promise.all([startEtcd(), startVerikv()])
    for (const [name, endpoint] of [["etcd", etcd.clientEndpoint], ["verikv", verikv.clientEndpoint]] as const) {
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `verikv-etcdctl-${name}-`))
      targets.push({ name, endpoint, workDir, known: [], leases: [] })
    }
  })

  afterAll(async () => {
    await Promise.all([etcd?.stop(), verikv?.stop()])
    for (const target of targets) fs.rmSync(target.workDir, { recursive: true, force: true })
  })

  for (const step of script) {
    it(step.title, async () => {
      const [fromEtcd, fromVerikv] = await Promise.all(targets.map((target) => step.run(target)))
      const shown = (target: Target | undefined, observation: Observation | undefined) => {
        if (target === undefined || observation === undefined) throw new Error("both servers run every step")
        const context = { endpoint: target.endpoint, known: target.known, paths: [{ path: target.workDir, label: "<dir>" }] }
        const text = (raw: string) => {
          const common = normalizeText(raw, context)
          return step.normalize ? step.normalize(common) : common
        }
        return { code: observation.code, stdout: text(observation.stdout), errors: text(observation.errors) }
      }
      const expected = shown(targets[0], fromEtcd)
      const actual = shown(targets[1], fromVerikv)
      if (transcript !== undefined) {
        fs.appendFileSync(transcript, `## ${step.title}\n${JSON.stringify({ etcd: expected, verikv: actual }, null, 1)}\n`)
      }
      if (step.differs === undefined) expect(actual, `verikv log tail:\n${verikv?.logTail() ?? ""}`).toEqual(expected)
      else expect(actual, `agrees now: drop "differs" (${step.differs})`).not.toEqual(expected)
    })
  }
})
