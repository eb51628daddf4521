------------------------------- MODULE MCRaft -------------------------------
(***************************************************************************)
(* Model-checking bounds for Raft.tla.  Each MCRaft*.cfg picks the bounds  *)
(* and the feature switches below, so that one run explores one area of   *)
(* the protocol exhaustively within small bounds.                          *)
(*                                                                         *)
(* Servers are model values s1, s2, s3 (not the integers the code uses) so *)
(* that TLC can reduce by symmetry; Raft.tla never orders server ids, and  *)
(* Nil = 0 differs from every model value, so nothing else changes.        *)
(***************************************************************************)
EXTENDS Raft

CONSTANTS s1, s2, s3

\* Bounds.
CONSTANTS
    MaxTerm,            \* no server campaigns past this term
    MaxTimeouts,        \* Timeout steps in a behavior (election attempts)
    MaxLogLength,       \* no log grows past this index
    MaxMessages,        \* live messages in flight, counting copies (see Dead)
    MaxInflight,        \* live requests in flight from a leader to one server
    MaxClientRequests,  \* ClientRequest steps in a behavior
    MaxRestarts,        \* Restart steps in a behavior
    MaxReads,           \* ReadIndex rounds pending at once, over all leaders (0: no reads)
    MaxCompactions,     \* CompactLog steps in a behavior (0: no compaction)
    MaxTransfers,       \* TransferLeader steps in a behavior (0: no leader transfer)
    MaxDrops            \* DropMessage steps in a behavior

\* Feature switches.
CONSTANTS
    ConfigTargets,      \* configurations ChangeConfig may propose ({}: none)
    EnableHeartbeat,    \* Heartbeat without a read context (with one: whenever reads are on)
    EnableSnapshot,     \* InstallSnapshot
    EnableDuplicate,    \* DuplicateMessage
    SingleCampaign      \* at most one server (pre-)campaigns at a time

ASSUME /\ MaxTerm \in Nat /\ MaxLogLength \in Nat /\ MaxMessages \in Nat
       /\ MaxClientRequests \in Nat /\ MaxRestarts \in Nat /\ MaxReads \in Nat
       /\ MaxCompactions \in Nat /\ MaxTimeouts \in Nat /\ MaxInflight \in Nat
       /\ MaxTransfers \in Nat /\ MaxDrops \in Nat
       /\ ConfigTargets \subseteq ValidConfigs
       /\ {EnableHeartbeat, EnableSnapshot, EnableDuplicate, SingleCampaign} \subseteq BOOLEAN

\* Steps taken so far of the kinds bounded per behavior.
VARIABLE spent

mcVars == <<vars, spent>>

-----------------------------------------------------------------------------
(* Configurations the cfg files refer to (a .cfg cannot write records).    *)

Cfg(v, o, l) == [voters |-> v, votersOutgoing |-> o, learners |-> l]

\* Three voters.
Voters3 == Cfg({s1, s2, s3}, {}, {})

\* Joint change from {s1, s2, s3} to voters {s1, s2} with s3 demoted to learner.
\* (s1 and s2 remain interchangeable: symmetry JointSymmetry.)
JointTargets == {Cfg({s1, s2}, {}, {s3})}

\* Two voters and a learner, growing to three voters.
Voters2Learner1 == Cfg({s1, s2}, {}, {s3})
PromoteTargets  == {Cfg({s1, s2, s3}, {}, {})}

FullSymmetry  == Permutations({s1, s2, s3})
JointSymmetry == Permutations({s1, s2})

-----------------------------------------------------------------------------

MCInit ==
    /\ Init
    /\ spent = [timeouts |-> 0, client |-> 0, restarts |-> 0, compactions |-> 0, transfers |-> 0,
                 drops |-> 0]

Spend(k) == spent' = [spent EXCEPT ![k] = @ + 1]

\* Leaders send the whole suffix after matchIndex, or after their last entry (empty):
\* like the code's nextIndex, plus the optimistic probe of a new leader.  Shorter
\* requests still occur: a request sent before the leader appended more is one.
AppendRange(i, j) ==
    {<<b, LastIndex(i)>> : b \in {Max(matchIndex[i][j], snapshotIndex[i]) + 1, LastIndex(i)}
                              \cap (snapshotIndex[i] + 1)..(LastIndex(i) + 1)}

\* A message whose delivery can change nothing, now or later: of an older term (but for
\* PreVote requests, refused with the newer term, and with PreVote or CheckQuorum for
\* AppendEntries and heartbeat requests, answered with it); a response to a role its addressee
\* no longer has in that term (it could regain it only in a later term); a response
\* whose news the leader or candidate already has (matchIndex, acks and votes only grow
\* within a term, and read contexts are never reused).  Those responses are of their
\* addressee's term, so UpdateTerm cannot take them either.  The model forgets such
\* messages: the view leaves them out, the bound does not count them, and they are not
\* dropped or duplicated (pointless steps).
Dead(m) ==
    LET i == m.to IN
    \/ /\ m.term < currentTerm[i]
       /\ ~(m.type = RequestVoteRequest /\ m.preVote)
       /\ ~((PreVote \/ CheckQuorumEnabled) /\ m.type \in {AppendEntriesRequest, HeartbeatRequest})
    \/ /\ m.type \in {AppendEntriesResponse, HeartbeatResponse}
       /\ m.term = currentTerm[i]
       /\ \/ state[i] /= Leader
          \/ m.type = AppendEntriesResponse /\ ~m.success
          \/ m.type = AppendEntriesResponse /\ m.matchIndex <= matchIndex[i][m.from]
          \/ m.type = HeartbeatResponse /\
                ~\E k \in DOMAIN readRequests[i] :
                    readRequests[i][k].context = m.context /\ m.from \notin readRequests[i][k].acks
    \/ /\ m.type = RequestVoteResponse /\ m.preVote /\ m.voteGranted
       /\ m.term <= currentTerm[i]     \* a granted PreVote counts only at term - 1, terms only grow
    \/ /\ m.type = RequestVoteResponse /\ ~m.preVote
       /\ m.term = currentTerm[i]
       /\ \/ state[i] /= Candidate
          \/ m.from \in votesResponded[i] /\ (m.voteGranted => m.from \in votesGranted[i])

\* The bag without its dead messages.  Every step that sends or receives through the bag
\* (Raft's AddAll and Remove, replaced by these in the cfg: `AddAll <- MCAddAll') also
\* forgets the messages that are dead: they are outside the view anyway, forgetting one is
\* a loss the network may cause (DropMessage), and keeping them only makes every step that
\* looks at the bag slower.  TLCEval makes TLC build each bag once: a lazy function value
\* would be rebuilt, Dead and all, on every lookup of the new bag.
Live(bag) == TLCEval([x \in {m \in DOMAIN bag : ~Dead(m)} |-> bag[x]])

MCAddAll(ms, bag) ==
    LET live == Live(bag)
    IN  TLCEval([x \in DOMAIN live \cup ms |->
                    (IF x \in DOMAIN live THEN live[x] ELSE 0) + (IF x \in ms THEN 1 ELSE 0)])

MCRemove(m, bag) ==
    Live(IF bag[m] > 1 THEN [bag EXCEPT ![m] = @ - 1]
         ELSE [x \in DOMAIN bag \ {m} |-> bag[x]])

\* A leader sends j a request only if it can tell j something: j does not follow i in
\* its term yet, i does not know j holds its whole log, or j's commitIndex lags.  (A
\* request that tells nothing changes nothing but the bag; the code sends it only as a
\* heartbeat.  Requests still arrive stale: sent when useful, received later.)
\* Live requests from i to j in flight (the code's inflight window, MaxInflight).
Inflight(i, j) ==
    SumCounts(messages, {m \in DOMAIN messages :
        /\ m.from = i /\ m.to = j /\ ~Dead(m)
        /\ m.type \in {AppendEntriesRequest, HeartbeatRequest, InstallSnapshotRequest}})
CanSend(i, j) == Inflight(i, j) < MaxInflight

UsefulAppend(i, j) ==
    \/ currentTerm[j] /= currentTerm[i]
    \/ state[j] /= Follower
    \/ leaderId[j] /= i
    \/ matchIndex[i][j] < LastIndex(i)
    \/ commitIndex[j] < commitIndex[i]

\* Contexts of the read rounds pending at any leader.
PendingContexts == UNION {ReadContexts(i) : i \in Server}

\* Heartbeats: for a read round j has not acknowledged, or (with EnableHeartbeat) as a
\* request that tells j something.
UsefulHeartbeat(i, j, ctx) ==
    IF ctx = 0 THEN EnableHeartbeat /\ UsefulAppend(i, j)
    ELSE \E k \in DOMAIN readRequests[i] :
            readRequests[i][k].context = ctx /\ j \notin readRequests[i][k].acks

\* Snapshots go to a follower that i does not know to hold the snapshot's last entry.
UsefulSnapshot(i, j) ==
    EnableSnapshot /\ snapshotIndex[i] > 0 /\ matchIndex[i][j] < snapshotIndex[i]

\* CheckQuorum: the code steps down when no quorum was active lately.  The model lets a
\* leader step down when the voters that follow it in its term (with itself) are no
\* quorum: some moved to a later term, or never learned of it, or restarted.
LostQuorum(i) ==
    ~Quorum(config[i], {i} \cup {j \in Server : currentTerm[j] = currentTerm[i] /\ leaderId[j] = i})

\* Elections are not started while another server campaigns (as in etcd-io/raft's
\* MCetcdraft): this drops split votes, which matter for liveness, not safety.
OneCampaign(i) ==
    \/ ~SingleCampaign
    \/ \A j \in Server \ {i} : state[j] \notin {PreCandidate, Candidate}

\* Each disjunct is one Raft action under the model's bounds and switches.
MCNext ==
    \/ \E i \in Server :
           /\ currentTerm[i] < MaxTerm /\ spent.timeouts < MaxTimeouts /\ OneCampaign(i)
           /\ Timeout(i) /\ Spend("timeouts")
    \/ \E i \in Server : currentTerm[i] < MaxTerm /\ BecomeCandidate(i) /\ UNCHANGED spent
    \/ \E i \in Server : BecomeLeader(i) /\ UNCHANGED spent
    \/ \E i \in Server, v \in Value :
           spent.client < MaxClientRequests /\ ClientRequest(i, v) /\ Spend("client")
    \/ \E i \in Server, c \in ConfigTargets : ChangeConfig(i, c) /\ UNCHANGED spent
    \/ \E i \in Server : ConfigTargets /= {} /\ LeaveJoint(i) /\ UNCHANGED spent
    \/ \E i, j \in Server :
           /\ state[i] = Leader /\ j /= i /\ UsefulAppend(i, j) /\ CanSend(i, j)
           /\ \E r \in AppendRange(i, j) : AppendEntries(i, j, r[1], r[2])
           /\ UNCHANGED spent
    \/ \E i \in Server : \E n \in (commitIndex[i] + 1)..LastIndex(i) :
           /\ \A k \in (n + 1)..LastIndex(i) : ~CanCommit(i, k)   \* only as far as it may
           /\ AdvanceCommitIndex(i, n) /\ UNCHANGED spent
    \/ \E i, j \in Server : \E ctx \in {0} \cup ReadContexts(i) :
           /\ state[i] = Leader /\ j /= i /\ UsefulHeartbeat(i, j, ctx) /\ CanSend(i, j)
           /\ Heartbeat(i, j, ctx) /\ UNCHANGED spent
    \/ \E i \in Server :
           /\ Cardinality(PendingContexts) < MaxReads
           /\ ReadIndex(i, FreshReadContext) /\ UNCHANGED spent
    \/ \E i \in Server : \E k \in 1..Len(readRequests[i]) :
           ReleaseReadIndex(i, k) /\ UNCHANGED spent
    \/ \E i, j \in Server :
           /\ spent.transfers < MaxTransfers
           /\ TransferLeader(i, j) /\ Spend("transfers")
    \/ \E i, j \in Server : SendTimeoutNow(i, j) /\ UNCHANGED spent
    \/ \E i \in Server : AbortLeaderTransfer(i) /\ UNCHANGED spent
    \/ \E i \in Server :
           CheckQuorumEnabled /\ state[i] = Leader /\ LostQuorum(i) /\ CheckQuorum(i) /\ UNCHANGED spent
    \/ \E i \in Server : \E n \in (snapshotIndex[i] + 1)..commitIndex[i] :
           spent.compactions < MaxCompactions /\ CompactLog(i, n) /\ Spend("compactions")
    \/ \E i, j \in Server :
           /\ state[i] = Leader /\ j /= i /\ UsefulSnapshot(i, j) /\ CanSend(i, j)
           /\ InstallSnapshot(i, j) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : UpdateTerm(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleRequestVoteRequest(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleRequestVoteResponse(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleAppendEntriesRequest(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleAppendEntriesResponse(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleStaleLeaderRequest(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleHeartbeatRequest(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleHeartbeatResponse(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages :
           currentTerm[m.to] < MaxTerm /\ HandleTimeoutNowRequest(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages : HandleInstallSnapshotRequest(m.to, m) /\ UNCHANGED spent
    \/ \E m \in DOMAIN messages :
           spent.drops < MaxDrops /\ ~Dead(m) /\ DropMessage(m) /\ Spend("drops")
    \/ \E m \in DOMAIN messages :
           EnableDuplicate /\ ~Dead(m) /\ DuplicateMessage(m) /\ UNCHANGED spent
    \/ \E i \in Server :
           spent.restarts < MaxRestarts /\ Restart(i) /\ Spend("restarts")

\* States that differ only in what no action reads before overwriting it, or only in names
\* that nothing compares but for equality, are merged:
\*  - votes outside (pre-)candidacy (Timeout and Campaign reset them);
\*  - matchIndex outside leadership (BecomeLeader resets it);
\*  - dead messages (see Dead);
\*  - answered reads: the view keeps whether ReadSafety holds for them (it cannot change
\*    afterwards), not the reads themselves; the commit index recorded for a read only
\*    while the read is pending;
\*  - read contexts: a pending read's context is renamed to its rank among the pending
\*    ones, any other to 0 (contexts are never reused, and a fresh one is above all).
CtxName(c) == IF c \in PendingContexts THEN Cardinality({d \in PendingContexts : d <= c}) ELSE 0

Renamed(m) ==
    IF m.type \in {HeartbeatRequest, HeartbeatResponse}
    THEN [m EXCEPT !.context = CtxName(m.context)] ELSE m

ViewMessages ==
    LET live == {m \in DOMAIN messages : ~Dead(m)}
    IN  [x \in {Renamed(m) : m \in live} |->
            SumCounts(messages, {m \in live : Renamed(m) = x})]

ViewReadRequests ==
    [i \in Server |-> [k \in DOMAIN readRequests[i] |->
        [readRequests[i][k] EXCEPT !.context = CtxName(@)]]]

MCView ==
    <<currentTerm, votedFor, logVars, state, leaderId,
      [i \in Server |-> IF state[i] \in {PreCandidate, Candidate} THEN votesGranted[i] ELSE {}],
      [i \in Server |-> IF state[i] \in {PreCandidate, Candidate} THEN votesResponded[i] ELSE {}],
      [i \in Server |-> IF state[i] = Leader THEN matchIndex[i] ELSE <<>>],
      ViewReadRequests, leadTransferee, ViewMessages,
      committedEntries,
      ReadSafety,
      [c \in {CtxName(d) : d \in PendingContexts} |->
          committedIndexAtRead[CHOOSE d \in PendingContexts : CtxName(d) = c]],
      spent>>

MCSpec == MCInit /\ [][MCNext]_mcVars

\* State constraint: bounded logs and network.
MCConstraint ==
    /\ \A i \in Server : LastIndex(i) <= MaxLogLength
    /\ SumCounts(messages, {m \in DOMAIN messages : ~Dead(m)}) <= MaxMessages

=============================================================================
