// The cluster's members as every replica knows them: replicated through Config entries (adds,
// removals, promotions, peer URL updates) and publish entries (a member's name and client URLs),
// and carried in snapshots. Raft's configuration says who votes; this says who they are.
import { assert } from "../assert.ts"

export interface Member {
  readonly id: bigint
  readonly name: string
  readonly peerUrls: ReadonlyArray<string>
  readonly clientUrls: ReadonlyArray<string>
  readonly isLearner: boolean
}

export type MemberChange =
  | { readonly type: "Add"; readonly id: bigint; readonly peerUrls: ReadonlyArray<string>; readonly isLearner: boolean }
  | { readonly type: "Remove"; readonly id: bigint }
  | { readonly type: "Promote"; readonly id: bigint }
  | { readonly type: "Update"; readonly id: bigint; readonly peerUrls: ReadonlyArray<string> }

export class Members {
  private readonly byId = new Map<bigint, Member>()
  /** IDs removed from the cluster: never again admitted (etcd refuses them too). */
  private readonly removed = new Set<bigint>()

  static bootstrap(initial: ReadonlyArray<{ readonly id: bigint; readonly name: string; readonly peerUrls: ReadonlyArray<string> }>): Members {
    const members = new Members()
    for (const m of initial) members.byId.set(m.id, { ...m, clientUrls: [], isLearner: false })
    return members
  }

  list(): Member[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  get(id: bigint): Member | undefined {
    return this.byId.get(id)
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id)
  }

  apply(change: MemberChange): void {
    switch (change.type) {
      case "Add": {
        assert(!this.removed.has(change.id), "members: add of a removed ID")
        // A member that joined knows itself from its flags before it replays its own Add.
        const known = this.byId.get(change.id)
        this.byId.set(change.id, { id: change.id, name: known?.name ?? "", peerUrls: change.peerUrls, clientUrls: known?.clientUrls ?? [], isLearner: change.isLearner })
        return
      }
      case "Remove":
        this.byId.delete(change.id)
        this.removed.add(change.id)
        return
      case "Promote": {
        const member = this.byId.get(change.id)
        if (member !== undefined) this.byId.set(change.id, { ...member, isLearner: false })
        return
      }
      case "Update": {
        const member = this.byId.get(change.id)
        if (member !== undefined) this.byId.set(change.id, { ...member, peerUrls: change.peerUrls })
        return
      }
    }
  }

  publish(id: bigint, name: string, clientUrls: ReadonlyArray<string>): void {
    const member = this.byId.get(id)
    if (member !== undefined) this.byId.set(id, { ...member, name, clientUrls })
  }

  encode(): Uint8Array {
    const json = JSON.stringify({
      members: this.list().map((m) => ({ ...m, id: String(m.id) })),
      removed: [...this.removed].map(String),
    })
    return new TextEncoder().encode(json)
  }

  static decode(bytes: Uint8Array): Members {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as {
      members: Array<Omit<Member, "id"> & { id: string }>
      removed: string[]
    }
    const members = new Members()
    for (const m of parsed.members) members.byId.set(BigInt(m.id), { ...m, id: BigInt(m.id) })
    for (const id of parsed.removed) members.removed.add(BigInt(id))
    return members
  }
}
