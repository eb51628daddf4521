// Invariants of one server's state, checked after every step when RaftOptions.verify is set
// (tests, the model checker). Cluster-wide invariants live in test/model/Invariants.ts.
import { assert } from "../assert.ts"
import { config, type RaftState } from "./Raft.ts"
import { checkRaftLog, hasUncommittedConfig, lastIndex } from "./RaftLog.ts"
import { configMembers, None } from "./Types.ts"

export function checkRaftState(r: RaftState): void {
  checkRaftLog(r.log)
  assert(r.votedFor === None || r.currentTerm > 0, "state: a vote in term 0")
  switch (r.role) {
    case "Leader": return checkLeader(r)
    case "Candidate":
      assert(r.votedFor === r.id, "state: a candidate votes for itself")
      assert(r.leaderId === None, "state: a candidate knows no leader")
      return
    case "PreCandidate":
      assert(r.leaderId === None, "state: a pre-candidate knows no leader")
      return
    case "Follower":
      assert(r.progress.size === 0, "state: a follower tracks no progress")
      assert(r.readRequests.length === 0, "state: a follower holds no read rounds")
      return
  }
}

function checkLeader(r: RaftState): void {
  assert(r.leaderId === r.id, "leader: leaderId is itself")
  assert(r.votedFor === r.id, "leader: voted for itself in its term")
  const members = new Set(configMembers(config(r)))
  for (const [id, pr] of r.progress) {
    assert(members.has(id), "leader: progress for a non-member")
    assert(pr.matchIndex < pr.nextIndex, "leader: matchIndex >= nextIndex")
    assert(pr.matchIndex <= lastIndex(r.log), "leader: matchIndex beyond its log")
  }
  let uncommittedConfigs = 0
  for (const at of r.log.configIndexes) if (at > r.log.commitIndex) uncommittedConfigs += 1
  assert(uncommittedConfigs <= 1, "leader: more than one configuration change in flight")
  assert(hasUncommittedConfig(r.log) === (uncommittedConfigs === 1), "leader: configIndexes disagree")
}
