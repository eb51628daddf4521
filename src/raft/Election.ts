// Leader election: timeouts, PreVote, votes, and the campaign that TimeoutNow forces.
import { broadcastAppend } from "./Replication.ts"
import {
  becomeCandidate,
  becomeFollower,
  becomeLeader,
  becomePreCandidate,
  hasBug,
  isPromotable,
  type RaftState,
  requestVotes,
  send,
  trace,
  voteResult,
} from "./Raft.ts"
import { lastIndex, lastTerm } from "./RaftLog.ts"
import type { RequestVoteRequest, RequestVoteResponse, Term, TimeoutNowRequest } from "./Types.ts"
import { None } from "./Types.ts"

/** @spec Raft.tla Timeout */
export function timeout(r: RaftState): void {
  if (r.role === "Leader" || !isPromotable(r)) return
  if (r.options.preVote) {
    becomePreCandidate(r)
    trace(r, "Timeout")
    requestVotes(r, true, false)
    maybeWinPreVote(r)
  } else {
    becomeCandidate(r)
    trace(r, "Timeout")
    requestVotes(r, false, false)
    maybeWinElection(r)
  }
}

function maybeWinPreVote(r: RaftState): void {
  if (r.role === "PreCandidate" && voteResult(r) === "Won") becomeCandidateAfterPreVote(r)
}

function maybeWinElection(r: RaftState): void {
  if (r.role === "Candidate" && voteResult(r) === "Won") becomeLeaderAfterElection(r)
}

/** @spec Raft.tla BecomeCandidate */
function becomeCandidateAfterPreVote(r: RaftState): void {
  becomeCandidate(r)
  trace(r, "BecomeCandidate")
  requestVotes(r, false, false)
  maybeWinElection(r)
}

/** @spec Raft.tla BecomeLeader */
function becomeLeaderAfterElection(r: RaftState): void {
  becomeLeader(r)
  trace(r, "BecomeLeader")
  broadcastAppend(r, true)
}

/** @spec Raft.tla HandleTimeoutNowRequest */
export function handleTimeoutNowRequest(r: RaftState, m: TimeoutNowRequest): boolean {
  if (r.role === "Leader" || !isPromotable(r)) return false
  becomeCandidate(r)
  trace(r, "HandleTimeoutNowRequest", m)
  requestVotes(r, false, true)
  maybeWinElection(r)
  return true
}

/** @spec Raft.tla HandleRequestVoteRequest */
export function handleRequestVoteRequest(r: RaftState, m: RequestVoteRequest): void {
  const grant = m.term >= r.currentTerm && logIsUpToDate(r, m) && canVote(r, m)
  if (grant && !m.preVote) {
    r.votedFor = m.from
    r.electionElapsedTicks = 0
  }
  const response: RequestVoteResponse = {
    type: "RequestVoteResponse",
    from: r.id,
    to: m.from,
    // A granted pre-vote answers in the term the candidate would run in; anything else tells
    // the sender our term so a stale candidate catches up.
    term: (m.preVote && grant ? m.term : r.currentTerm) as Term,
    preVote: m.preVote,
    voteGranted: grant,
  }
  send(r, response)
  trace(r, "HandleRequestVoteRequest", m, undefined, response)
}

function logIsUpToDate(r: RaftState, m: RequestVoteRequest): boolean {
  if (hasBug(r, "VoteWithoutLogCheck")) return true
  const term = lastTerm(r.log)
  return m.lastLogTerm > term || (m.lastLogTerm === term && m.lastLogIndex >= lastIndex(r.log))
}

function canVote(r: RaftState, m: RequestVoteRequest): boolean {
  if (hasBug(r, "DoubleVote")) return true
  return (
    r.votedFor === m.from ||
    (r.votedFor === None && r.leaderId === None) ||
    (m.preVote && m.term > r.currentTerm)
  )
}

/** Whether a vote response belongs to the campaign this server is running now. */
export function isCurrentVoteResponse(r: RaftState, m: RequestVoteResponse): boolean {
  if (r.role === "PreCandidate" && m.preVote) {
    return m.voteGranted ? m.term === r.currentTerm + 1 : m.term === r.currentTerm
  }
  return r.role === "Candidate" && !m.preVote && m.term === r.currentTerm
}

/** @spec Raft.tla HandleRequestVoteResponse */
export function handleRequestVoteResponse(r: RaftState, m: RequestVoteResponse): void {
  r.votes.set(m.from, m.voteGranted)
  const result = voteResult(r)
  if (result === "Lost") becomeFollower(r, r.currentTerm, None)
  trace(r, "HandleRequestVoteResponse", m)
  if (result !== "Won") return
  if (r.role === "PreCandidate") becomeCandidateAfterPreVote(r)
  else becomeLeaderAfterElection(r)
}
