// The alarms in the replicated state machine: applied from Raft entries as etcd's alarm store
// does, carried in snapshots, and absent (not an error) in snapshots of the format before them.
import { describe, expect, it } from "vitest"
import { putRequest, utf8 } from "../../src/kv/index.ts"
import type { Entry, LogIndex, Term } from "../../src/raft/Types.ts"
import { AlarmAction } from "../../src/platform/grpc/codec/MaintenanceCodec.ts"
import { decodeEntryPayload, encodeAlarmEntry, encodeKvEntry, type AlarmChange } from "../../src/server/EntryData.ts"
import { Members } from "../../src/server/Members.ts"
import { ServerMachine } from "../../src/server/ServerMachine.ts"

const NOSPACE = 1
const CORRUPT = 2
let index = 0
const entry = (data: Uint8Array): Entry => ({ index: ++index as LogIndex, term: 1 as Term, type: "Normal", data, config: undefined })
const machine = () => new ServerMachine({}, Members.bootstrap([{ id: 7n, name: "a", peerUrls: [] }]))
const alarm = (m: ServerMachine, change: AlarmChange) => m.applyEntry(entry(encodeAlarmEntry(1n, change))).result

describe("alarms in the server state machine", () => {
  it("activates and deactivates per member and type, answering as etcd's applier does", () => {
    const m = machine()
    expect(alarm(m, { action: AlarmAction.ACTIVATE, memberId: 9n, alarm: NOSPACE })).toEqual([{ memberId: 9n, alarm: NOSPACE }])
    // Raising it again answers the alarm and changes nothing.
    expect(alarm(m, { action: AlarmAction.ACTIVATE, memberId: 9n, alarm: NOSPACE })).toEqual([{ memberId: 9n, alarm: NOSPACE }])
    alarm(m, { action: AlarmAction.ACTIVATE, memberId: 3n, alarm: CORRUPT })
    expect(m.alarms).toEqual([{ memberId: 3n, alarm: CORRUPT }, { memberId: 9n, alarm: NOSPACE }])
    expect(m.hasAlarm(NOSPACE)).toBe(true)
    // Clearing another member's NOSPACE clears nothing.
    expect(alarm(m, { action: AlarmAction.DEACTIVATE, memberId: 3n, alarm: NOSPACE })).toEqual([])
    expect(alarm(m, { action: AlarmAction.DEACTIVATE, memberId: 9n, alarm: NOSPACE })).toEqual([{ memberId: 9n, alarm: NOSPACE }])
    expect(m.hasAlarm(NOSPACE)).toBe(false)
    expect(m.alarms).toEqual([{ memberId: 3n, alarm: CORRUPT }])
  })

  it("keeps the alarms in its snapshot, and restores a snapshot of the format without them", () => {
    const m = machine()
    m.applyEntry(entry(encodeKvEntry(2n, { type: "Put", request: putRequest({ key: utf8("k"), value: utf8("v") }) })))
    alarm(m, { action: AlarmAction.ACTIVATE, memberId: 9n, alarm: NOSPACE })
    const restored = machine()
    restored.restore(m.snapshot())
    expect(restored.alarms).toEqual([{ memberId: 9n, alarm: NOSPACE }])
    expect(restored.store.currentRevision).toBe(m.store.currentRevision)
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(m.snapshot()))).toBe(true)

    // The earlier format ("vsv1"): magic, members length, members, store; no alarm section.
    const v2 = m.snapshot()
    const view = new DataView(v2.buffer, v2.byteOffset, v2.length)
    const membersLength = view.getUint32(4)
    const alarmsAt = 8 + membersLength
    const v1 = Buffer.concat([v2.subarray(0, alarmsAt), v2.subarray(alarmsAt + 4 + 12)])
    new DataView(v1.buffer, v1.byteOffset, v1.length).setUint32(0, 0x76737631)
    const old = machine()
    old.restore(v1)
    expect(old.alarms).toEqual([])
    expect(old.store.currentRevision).toBe(m.store.currentRevision)
    expect(() => machine().restore(v2.subarray(0, alarmsAt + 2))).toThrow(/truncated alarms/)
  })

  it("refuses alarm entries it cannot read", () => {
    const good = encodeAlarmEntry(5n, { action: AlarmAction.ACTIVATE, memberId: 1n, alarm: NOSPACE })
    expect(decodeEntryPayload(good)).toEqual({ kind: "Alarm", requestId: 5n, change: { action: 1, memberId: 1n, alarm: NOSPACE } })
    const badAction = good.slice()
    badAction[9] = 7
    expect(() => decodeEntryPayload(badAction)).toThrow(/unknown alarm action 7/)
    expect(() => decodeEntryPayload(good.subarray(0, good.length - 1))).toThrow(/alarm of the wrong length/)
  })
})
