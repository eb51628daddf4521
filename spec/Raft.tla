-------------------------------- MODULE Raft --------------------------------
(***************************************************************************)
(* verikv's consensus protocol: Raft with PreVote, CheckQuorum, ReadIndex, *)
(* leader transfer, log compaction with InstallSnapshot, and membership    *)
(* change by joint consensus with learners.                                *)
(*                                                                         *)
(* The contract shared with src/raft is .design/PROTOCOL.md: every         *)
(* variable, action, message field and invariant below carries the name it *)
(* has there.  spec/README.md maps each action to its TypeScript function. *)
(*                                                                         *)
(* Messages live in a bag (a function from message to count), as in Diego  *)
(* Ongaro's raft.tla: the network may reorder, drop and duplicate them.    *)
(* Every action is a separate operator with explicit parameters, so that a *)
(* trace-validation spec can INSTANCE this module and take single steps.   *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

-----------------------------------------------------------------------------
(***************************************************************************)
(* Constants                                                               *)
(***************************************************************************)

\* The servers that exist, members of the cluster or not (yet).
CONSTANT Server

\* Client payloads of Normal entries.
CONSTANT Value

\* The value of a new leader's no-op entry (and of Config entries).
CONSTANT NoOp

\* The `config' field of Normal entries.
CONSTANT NoConfig

\* The configuration every server starts with: [voters, votersOutgoing, learners].
CONSTANT InitialConfig

\* Whether an election starts with a PreVote round.
CONSTANT PreVote

\* Whether leaders check that a quorum is active (the code's checkQuorum option), and
\* followers that heard from a leader lately ignore vote requests (the leader lease).
CONSTANT CheckQuorumEnabled

\* "No server" (etcd's None).  Server ids are never 0.
Nil == 0

\* Roles (state[i]), entry types and message types, spelled as in TypeScript.
Follower     == "Follower"
PreCandidate == "PreCandidate"
Candidate    == "Candidate"
Leader       == "Leader"

NormalEntry == "Normal"
ConfigEntry == "Config"

RequestVoteRequest     == "RequestVoteRequest"
RequestVoteResponse    == "RequestVoteResponse"
AppendEntriesRequest   == "AppendEntriesRequest"
AppendEntriesResponse  == "AppendEntriesResponse"
HeartbeatRequest       == "HeartbeatRequest"
HeartbeatResponse      == "HeartbeatResponse"
InstallSnapshotRequest == "InstallSnapshotRequest"
TimeoutNowRequest      == "TimeoutNowRequest"

ASSUME /\ Nil \notin Server
       /\ NoOp \notin Value
       /\ PreVote \in BOOLEAN
       /\ CheckQuorumEnabled \in BOOLEAN
       /\ InitialConfig.voters \subseteq Server
       /\ InitialConfig.votersOutgoing \subseteq Server
       /\ InitialConfig.learners \subseteq Server
       /\ InitialConfig.voters /= {}
       /\ InitialConfig.learners \cap InitialConfig.voters = {}

-----------------------------------------------------------------------------
(***************************************************************************)
(* Variables                                                               *)
(***************************************************************************)

\* Per server, persistent (kept by Restart).
VARIABLES
    currentTerm,     \* latest term the server has seen
    votedFor,        \* candidate voted for in currentTerm, or Nil
    log,             \* entries after the snapshot: [term, type, value, config]
    snapshotIndex,   \* index of the last compacted entry (0: none)
    snapshotTerm,    \* term of that entry
    snapshotConfig,  \* configuration in effect at snapshotIndex
    commitIndex      \* highest index known to be committed

\* Per server, volatile (reset by Restart).
VARIABLES
    state,           \* Follower, PreCandidate, Candidate or Leader
    leaderId,        \* leader of currentTerm as known, or Nil
    votesGranted,    \* servers that granted the current (pre-)vote
    votesResponded,  \* servers that answered the current (pre-)vote
    matchIndex,      \* leader: matchIndex[i][j], highest index known replicated on j
    readRequests,    \* leader: pending ReadIndex rounds, a sequence of [context, index, acks]
    leadTransferee   \* leader: target of a leader transfer, or Nil

\* The network: a bag of messages, a function from message to count (>= 1).
VARIABLE messages

\* Ghost variables: history the invariants need; no server reads them.
VARIABLES
    committedEntries,     \* sequence of [entry, term]: each committed entry and the term it was committed in
    readHistory,          \* set of [context, index]: answered reads
    committedIndexAtRead  \* function context -> highest commitIndex of any server when that read began

persistentVars == <<currentTerm, votedFor, log, snapshotIndex, snapshotTerm, snapshotConfig, commitIndex>>
logVars        == <<log, snapshotIndex, snapshotTerm, snapshotConfig, commitIndex>>
candidateVars  == <<votesGranted, votesResponded>>
leaderVars     == <<matchIndex, readRequests, leadTransferee>>
ghostVars      == <<committedEntries, readHistory, committedIndexAtRead>>
vars == <<currentTerm, votedFor, logVars, state, leaderId, candidateVars, leaderVars,
          messages, ghostVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Helpers: numbers, configurations, quorums                               *)
(***************************************************************************)

Max(a, b) == IF a >= b THEN a ELSE b
Min(a, b) == IF a <= b THEN a ELSE b
MaxOf(S)  == CHOOSE x \in S : \A y \in S : x >= y
MinOf(S)  == CHOOSE x \in S : \A y \in S : x <= y

Joint(cfg)   == cfg.votersOutgoing /= {}
Voters(cfg)  == cfg.voters \cup cfg.votersOutgoing
Members(cfg) == Voters(cfg) \cup cfg.learners

\* More than half of the voter set vs is in S.
Majority(vs, S) == 2 * Cardinality(vs \cap S) > Cardinality(vs)

\* S holds a quorum of cfg: a majority of voters and, while joint, of votersOutgoing too.
Quorum(cfg, S) ==
    /\ Majority(cfg.voters, S)
    /\ (cfg.votersOutgoing = {} \/ Majority(cfg.votersOutgoing, S))

\* Every configuration a leader may be asked to switch to (ChangeConfig's c).
ValidConfigs ==
    { c \in [voters: SUBSET Server, votersOutgoing: {{}}, learners: SUBSET Server] :
        c.voters /= {} /\ c.learners \cap c.voters = {} }

-----------------------------------------------------------------------------
(***************************************************************************)
(* Helpers: the log of server i, indices counted from the start of time   *)
(***************************************************************************)

LastIndex(i) == snapshotIndex[i] + Len(log[i])

\* Term of the entry at index k, for snapshotIndex[i] <= k <= LastIndex(i).
TermAt(i, k) == IF k = snapshotIndex[i] THEN snapshotTerm[i]
                ELSE log[i][k - snapshotIndex[i]].term

LastTerm(i) == TermAt(i, LastIndex(i))

\* The entry at index k, for snapshotIndex[i] < k <= LastIndex(i).
EntryAt(i, k) == log[i][k - snapshotIndex[i]]

\* The configuration in effect at index n (snapshotIndex[i] <= n <= LastIndex(i)):
\* the last Config entry at or before n, else the snapshot's.
ConfigAt(i, n) ==
    LET ks == {k \in 1..(n - snapshotIndex[i]) : log[i][k].type = ConfigEntry}
    IN  IF ks = {} THEN snapshotConfig[i] ELSE log[i][MaxOf(ks)].config

\* config[i]: derived, not a variable; the configuration of the last Config entry of the log.
config == [i \in Server |-> ConfigAt(i, LastIndex(i))]

\* Some Config entry of log[i] is above commitIndex[i].
HasUncommittedConfig(i) ==
    \E k \in (commitIndex[i] + 1)..LastIndex(i) : EntryAt(i, k).type = ConfigEntry

NormalEntryOf(t, v) == [term |-> t, type |-> NormalEntry, value |-> v, config |-> NoConfig]
ConfigEntryOf(t, c) == [term |-> t, type |-> ConfigEntry, value |-> NoOp, config |-> c]

\* Contexts of the read rounds pending at leader i.
ReadContexts(i) == {readRequests[i][k].context : k \in DOMAIN readRequests[i]}

\* The highest commitIndex of any server: what a linearizable read must observe.
MaxCommitIndex == MaxOf({commitIndex[s] : s \in Server})

-----------------------------------------------------------------------------
(***************************************************************************)
(* Helpers: the message bag                                                *)
(***************************************************************************)

\* bag with one more copy of each message in ms.
AddAll(ms, bag) ==
    [x \in DOMAIN bag \cup ms |->
        (IF x \in DOMAIN bag THEN bag[x] ELSE 0) + (IF x \in ms THEN 1 ELSE 0)]

\* bag with one copy of m less (a message with count 0 leaves the domain).
Remove(m, bag) ==
    IF bag[m] > 1 THEN [bag EXCEPT ![m] = @ - 1]
    ELSE [x \in DOMAIN bag \ {m} |-> bag[x]]

Send(m)            == messages' = AddAll({m}, messages)
SendAll(ms)        == messages' = AddAll(ms, messages)
Discard(m)         == messages' = Remove(m, messages)
Reply(resp, req)   == messages' = AddAll({resp}, Remove(req, messages))

\* m is in flight, addressed to i, of message type t.
Receivable(i, m, t) == m \in DOMAIN messages /\ m.to = i /\ m.type = t

\* Number of messages in flight, counting copies.
RECURSIVE SumCounts(_, _)
SumCounts(bag, D) == IF D = {} THEN 0
                     ELSE LET x == CHOOSE x \in D : TRUE
                          IN  bag[x] + SumCounts(bag, D \ {x})
BagSize == SumCounts(messages, DOMAIN messages)

-----------------------------------------------------------------------------
(***************************************************************************)
(* Initial state                                                           *)
(***************************************************************************)

Init ==
    /\ currentTerm    = [i \in Server |-> 0]
    /\ votedFor       = [i \in Server |-> Nil]
    /\ log            = [i \in Server |-> <<>>]
    /\ snapshotIndex  = [i \in Server |-> 0]
    /\ snapshotTerm   = [i \in Server |-> 0]
    /\ snapshotConfig = [i \in Server |-> InitialConfig]
    /\ commitIndex    = [i \in Server |-> 0]
    /\ state          = [i \in Server |-> Follower]
    /\ leaderId       = [i \in Server |-> Nil]
    /\ votesGranted   = [i \in Server |-> {}]
    /\ votesResponded = [i \in Server |-> {}]
    /\ matchIndex     = [i \in Server |-> [j \in Server |-> 0]]
    /\ readRequests   = [i \in Server |-> <<>>]
    /\ leadTransferee = [i \in Server |-> Nil]
    /\ messages       = [m \in {} |-> 0]
    /\ committedEntries     = <<>>
    /\ readHistory          = {}
    /\ committedIndexAtRead = [c \in {} |-> 0]

-----------------------------------------------------------------------------
(***************************************************************************)
(* Leader election                                                         *)
(***************************************************************************)

\* The RequestVoteRequests i sends to every other voter of its configuration.
VoteRequests(i, term, preVote, transfer) ==
    { [type           |-> RequestVoteRequest,
       term           |-> term,
       from           |-> i,
       to             |-> j,
       preVote        |-> preVote,
       lastLogIndex   |-> LastIndex(i),
       lastLogTerm    |-> LastTerm(i),
       leaderTransfer |-> transfer] : j \in Voters(config[i]) \ {i} }

\* The campaign proper (shared by Timeout without PreVote, BecomeCandidate and
\* HandleTimeoutNowRequest): a new term, a vote for itself, vote requests out.
\* Sets every variable but messages and leaves the rest to the caller.
Campaign(i, transfer) ==
    /\ state'          = [state EXCEPT ![i] = Candidate]
    /\ currentTerm'    = [currentTerm EXCEPT ![i] = @ + 1]
    /\ votedFor'       = [votedFor EXCEPT ![i] = i]
    /\ leaderId'       = [leaderId EXCEPT ![i] = Nil]
    /\ votesGranted'   = [votesGranted EXCEPT ![i] = {i}]
    /\ votesResponded' = [votesResponded EXCEPT ![i] = {i}]
    /\ UNCHANGED <<logVars, leaderVars, ghostVars>>

\* Election timeout of voter i: start a PreVote round, or campaign if PreVote is off.
Timeout(i) ==
    /\ i \in Voters(config[i])
    /\ state[i] /= Leader
    /\ IF PreVote
       THEN /\ state'          = [state EXCEPT ![i] = PreCandidate]
            /\ leaderId'       = [leaderId EXCEPT ![i] = Nil]
            /\ votesGranted'   = [votesGranted EXCEPT ![i] = {i}]
            /\ votesResponded' = [votesResponded EXCEPT ![i] = {i}]
            /\ SendAll(VoteRequests(i, currentTerm[i] + 1, TRUE, FALSE))
            /\ UNCHANGED <<currentTerm, votedFor, logVars, leaderVars, ghostVars>>
       ELSE /\ Campaign(i, FALSE)
            /\ SendAll(VoteRequests(i, currentTerm[i] + 1, FALSE, FALSE))

\* Pre-candidate i won its PreVote round: campaign for real.
BecomeCandidate(i) ==
    /\ state[i] = PreCandidate
    /\ Quorum(config[i], votesGranted[i])
    /\ Campaign(i, FALSE)
    /\ SendAll(VoteRequests(i, currentTerm[i] + 1, FALSE, FALSE))

\* Candidate i won the election: lead, and append a no-op of its term.
BecomeLeader(i) ==
    /\ state[i] = Candidate
    /\ Quorum(config[i], votesGranted[i])
    /\ state'          = [state EXCEPT ![i] = Leader]
    /\ leaderId'       = [leaderId EXCEPT ![i] = i]
    /\ matchIndex'     = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ leadTransferee' = [leadTransferee EXCEPT ![i] = Nil]
    /\ readRequests'   = [readRequests EXCEPT ![i] = <<>>]
    /\ log'            = [log EXCEPT ![i] = Append(@, NormalEntryOf(currentTerm[i], NoOp))]
    /\ UNCHANGED <<currentTerm, votedFor, snapshotIndex, snapshotTerm, snapshotConfig,
                   commitIndex, candidateVars, messages, ghostVars>>

\* Server i sees message m of a higher term: become a follower in that term.
\* PreVote requests and granted PreVote responses carry a future term and do not count.
\* The message is not consumed: its handler runs next.
UpdateTerm(i, m) ==
    /\ m \in DOMAIN messages
    /\ m.to = i
    /\ m.term > currentTerm[i]
    /\ ~(m.type = RequestVoteRequest /\ m.preVote)
    /\ ~(m.type = RequestVoteResponse /\ m.preVote /\ m.voteGranted)
    /\ currentTerm'    = [currentTerm EXCEPT ![i] = m.term]
    /\ state'          = [state EXCEPT ![i] = Follower]
    /\ votedFor'       = [votedFor EXCEPT ![i] = Nil]
    /\ leaderId'       = [leaderId EXCEPT ![i] = Nil]
    /\ leadTransferee' = [leadTransferee EXCEPT ![i] = Nil]
    /\ readRequests'   = [readRequests EXCEPT ![i] = <<>>]
    /\ UNCHANGED <<logVars, candidateVars, matchIndex, messages, ghostVars>>

\* Server i answers a (pre-)vote request.  A regular request of an older term is
\* not handled here (the code ignores it: DropMessage); a PreVote request of an
\* older term is refused with i's term.
HandleRequestVoteRequest(i, m) ==
    LET logOk   == \/ m.lastLogTerm > LastTerm(i)
                   \/ /\ m.lastLogTerm = LastTerm(i)
                      /\ m.lastLogIndex >= LastIndex(i)
        canVote == \/ votedFor[i] = m.from
                   \/ votedFor[i] = Nil /\ leaderId[i] = Nil
                   \/ m.preVote /\ m.term > currentTerm[i]
        grant   == m.term >= currentTerm[i] /\ logOk /\ canVote
    IN
    /\ Receivable(i, m, RequestVoteRequest)
    /\ \/ m.preVote
       \/ ~m.preVote /\ m.term = currentTerm[i]
    /\ votedFor' = IF grant /\ ~m.preVote
                   THEN [votedFor EXCEPT ![i] = m.from] ELSE votedFor
    /\ Reply([type        |-> RequestVoteResponse,
              term        |-> IF m.preVote /\ grant THEN m.term ELSE currentTerm[i],
              from        |-> i,
              to          |-> m.from,
              preVote     |-> m.preVote,
              voteGranted |-> grant], m)
    /\ UNCHANGED <<currentTerm, state, leaderId, logVars, candidateVars, leaderVars, ghostVars>>

\* (Pre-)candidate i tallies a (pre-)vote response; it gives up once the
\* rejections leave no quorum possible (VoteLost).
HandleRequestVoteResponse(i, m) ==
    LET responded == votesResponded[i] \cup {m.from}
        granted   == IF m.voteGranted THEN votesGranted[i] \cup {m.from} ELSE votesGranted[i]
        rejected  == responded \ granted
        voteLost  == ~Quorum(config[i], Voters(config[i]) \ rejected)
    IN
    /\ Receivable(i, m, RequestVoteResponse)
    /\ \/ state[i] = PreCandidate /\ m.preVote /\ m.voteGranted /\ m.term = currentTerm[i] + 1
       \/ state[i] = PreCandidate /\ m.preVote /\ ~m.voteGranted /\ m.term = currentTerm[i]
       \/ state[i] = Candidate /\ ~m.preVote /\ m.term = currentTerm[i]
    /\ votesResponded' = [votesResponded EXCEPT ![i] = responded]
    /\ votesGranted'   = [votesGranted EXCEPT ![i] = granted]
    /\ state'          = IF voteLost THEN [state EXCEPT ![i] = Follower] ELSE state
    /\ Discard(m)
    /\ UNCHANGED <<currentTerm, votedFor, leaderId, logVars, leaderVars, ghostVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Client requests and membership changes (configurations live in the log) *)
(***************************************************************************)

\* Leader i appends client value v.
ClientRequest(i, v) ==
    /\ state[i] = Leader
    /\ leadTransferee[i] = Nil
    /\ log' = [log EXCEPT ![i] = Append(@, NormalEntryOf(currentTerm[i], v))]
    /\ UNCHANGED <<currentTerm, votedFor, snapshotIndex, snapshotTerm, snapshotConfig,
                   commitIndex, state, leaderId, candidateVars, leaderVars, messages, ghostVars>>

\* Leader i, switching to configuration cfg, forgets the matchIndex of the servers cfg
\* leaves out: one added back later starts over from 0 (like a fresh member).
ForgetRemoved(i, cfg) ==
    matchIndex' = [matchIndex EXCEPT ![i] =
                      [j \in Server |-> IF j \in Members(cfg) THEN matchIndex[i][j] ELSE 0]]

\* Leader i starts a change to configuration c: through a joint configuration if
\* the voters change, directly if only learners change.
ChangeConfig(i, c) ==
    LET old == config[i]
        new == IF c.voters /= old.voters
               THEN [voters |-> c.voters, votersOutgoing |-> old.voters, learners |-> c.learners]
               ELSE [voters |-> c.voters, votersOutgoing |-> {},         learners |-> c.learners]
    IN
    /\ state[i] = Leader
    /\ leadTransferee[i] = Nil
    /\ ~Joint(old)
    /\ ~HasUncommittedConfig(i)
    /\ TermAt(i, commitIndex[i]) = currentTerm[i]
    /\ c.voters /= {}
    /\ c.learners \cap c.voters = {}
    /\ log' = [log EXCEPT ![i] = Append(@, ConfigEntryOf(currentTerm[i], new))]
    /\ ForgetRemoved(i, new)
    /\ UNCHANGED <<currentTerm, votedFor, snapshotIndex, snapshotTerm, snapshotConfig,
                   commitIndex, state, leaderId, candidateVars, readRequests, leadTransferee,
                   messages, ghostVars>>

\* Leader i, whose joint configuration is committed, appends the configuration that leaves it.
LeaveJoint(i) ==
    LET new == [voters         |-> config[i].voters,
                votersOutgoing |-> {},
                learners       |-> config[i].learners]
    IN
    /\ state[i] = Leader
    /\ Joint(config[i])
    /\ ~HasUncommittedConfig(i)
    /\ log' = [log EXCEPT ![i] = Append(@, ConfigEntryOf(currentTerm[i], new))]
    /\ ForgetRemoved(i, new)
    /\ UNCHANGED <<currentTerm, votedFor, snapshotIndex, snapshotTerm, snapshotConfig,
                   commitIndex, state, leaderId, candidateVars, readRequests, leadTransferee,
                   messages, ghostVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Log replication                                                         *)
(***************************************************************************)

\* Leader i sends j its entries b..e (none if e = b - 1), after entry b - 1.
AppendEntries(i, j, b, e) ==
    /\ state[i] = Leader
    /\ j \in Members(config[i]) \ {i}
    /\ snapshotIndex[i] <= b - 1
    /\ b - 1 <= e
    /\ e <= LastIndex(i)
    /\ Send([type         |-> AppendEntriesRequest,
             term         |-> currentTerm[i],
             from         |-> i,
             to           |-> j,
             prevLogIndex |-> b - 1,
             prevLogTerm  |-> TermAt(i, b - 1),
             entries      |-> SubSeq(log[i], b - snapshotIndex[i], e - snapshotIndex[i]),
             commitIndex  |-> commitIndex[i]])
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, leaderVars, ghostVars>>

AppendEntriesResponseOf(i, m, success, match, hint) ==
    [type       |-> AppendEntriesResponse,
     term       |-> currentTerm[i],
     from       |-> i,
     to         |-> m.from,
     success    |-> success,
     matchIndex |-> match,
     hintIndex  |-> hint]

\* (a) The request starts below i's commitIndex: i's committed prefix matches, say so.
AppendEntriesAlreadyCommitted(i, m) ==
    /\ Reply(AppendEntriesResponseOf(i, m, TRUE, commitIndex[i], 0), m)
    /\ UNCHANGED logVars

\* (b) i holds (prevLogIndex, prevLogTerm): merge the entries.  The log is cut only
\* at the first entry whose term differs; a stale shorter request never truncates.
AppendEntriesMerge(i, m) ==
    LET p         == m.prevLogIndex
        n         == Len(m.entries)
        conflicts == {k \in 1..n : p + k > LastIndex(i) \/ TermAt(i, p + k) /= m.entries[k].term}
        k0        == MinOf(conflicts)
        newLog    == IF conflicts = {} THEN log[i]
                     ELSE SubSeq(log[i], 1, p + k0 - 1 - snapshotIndex[i]) \o SubSeq(m.entries, k0, n)
    IN
    /\ log'         = [log EXCEPT ![i] = newLog]
    /\ commitIndex' = [commitIndex EXCEPT ![i] = Max(@, Min(m.commitIndex, p + n))]
    /\ Reply(AppendEntriesResponseOf(i, m, TRUE, p + n, 0), m)
    /\ UNCHANGED <<snapshotIndex, snapshotTerm, snapshotConfig>>

\* (c) i lacks (prevLogIndex, prevLogTerm): refuse, with a hint of where i's log ends.
AppendEntriesReject(i, m) ==
    /\ Reply(AppendEntriesResponseOf(i, m, FALSE, m.prevLogIndex, LastIndex(i)), m)
    /\ UNCHANGED logVars

\* Server i handles an AppendEntries request of its term (and follows its sender).
HandleAppendEntriesRequest(i, m) ==
    /\ Receivable(i, m, AppendEntriesRequest)
    /\ m.term = currentTerm[i]
    /\ state'    = [state EXCEPT ![i] = Follower]
    /\ leaderId' = [leaderId EXCEPT ![i] = m.from]
    /\ IF m.prevLogIndex < commitIndex[i]
       THEN AppendEntriesAlreadyCommitted(i, m)
       ELSE IF m.prevLogIndex <= LastIndex(i) /\ TermAt(i, m.prevLogIndex) = m.prevLogTerm
       THEN AppendEntriesMerge(i, m)
       ELSE AppendEntriesReject(i, m)
    /\ UNCHANGED <<currentTerm, votedFor, candidateVars, leaderVars, ghostVars>>

\* Leader i learns how far j's log matches its own.
HandleAppendEntriesResponse(i, m) ==
    /\ Receivable(i, m, AppendEntriesResponse)
    /\ state[i] = Leader
    /\ m.term = currentTerm[i]
    /\ matchIndex' = IF m.success
                     THEN [matchIndex EXCEPT ![i][m.from] = Max(@, m.matchIndex)]
                     ELSE matchIndex
    /\ Discard(m)
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, readRequests,
                   leadTransferee, ghostVars>>

\* Server i, whose term is ahead of the leader that sent it an AppendEntries or heartbeat
\* request, answers with an AppendEntriesResponse of its own term that tells nothing about
\* its log (success, matchIndex 0): the old leader takes the newer term (UpdateTerm) and
\* steps down.  Only with PreVote or CheckQuorum: there, i's (pre-)votes are refused
\* under the leader's lease and i would drop the leader's requests as stale, so without
\* this answer i can stay cut off from a working leader for good (a liveness gap).
\* Without either, i's vote requests of its higher term depose the leader anyway.
HandleStaleLeaderRequest(i, m) ==
    /\ m \in DOMAIN messages
    /\ m.to = i
    /\ m.type \in {AppendEntriesRequest, HeartbeatRequest}
    /\ m.term < currentTerm[i]
    /\ PreVote \/ CheckQuorumEnabled
    /\ Reply(AppendEntriesResponseOf(i, m, TRUE, 0, 0), m)
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, leaderVars, ghostVars>>

\* Leader i may commit up to n: an entry of its own term that a quorum holds.
CanCommit(i, n) ==
    /\ state[i] = Leader
    /\ commitIndex[i] < n
    /\ n <= LastIndex(i)
    /\ TermAt(i, n) = currentTerm[i]
    /\ Quorum(config[i], {i} \cup {j \in Server : matchIndex[i][j] >= n})

\* Leader i commits up to n, an entry of its own term held by a quorum.
AdvanceCommitIndex(i, n) ==
    LET done == Len(committedEntries)
    IN
    /\ CanCommit(i, n)
    /\ commitIndex' = [commitIndex EXCEPT ![i] = n]
    \* ghost: the entries committed for the first time, with the term committing them.
    /\ committedEntries' =
           IF n <= done THEN committedEntries
           ELSE committedEntries \o
                [k \in 1..(n - done) |->
                    [entry |-> EntryAt(i, done + k),
                     term  |-> currentTerm[i]]]
    /\ UNCHANGED <<currentTerm, votedFor, log, snapshotIndex, snapshotTerm, snapshotConfig,
                   state, leaderId, candidateVars, leaderVars, messages,
                   readHistory, committedIndexAtRead>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Heartbeats and ReadIndex                                                *)
(***************************************************************************)

\* Leader i sends j a heartbeat; ctx /= 0 names the ReadIndex round it confirms.
Heartbeat(i, j, ctx) ==
    /\ state[i] = Leader
    /\ j \in Members(config[i]) \ {i}
    /\ ctx \in {0} \cup ReadContexts(i)
    /\ Send([type        |-> HeartbeatRequest,
             term        |-> currentTerm[i],
             from        |-> i,
             to          |-> j,
             commitIndex |-> Min(matchIndex[i][j], commitIndex[i]),
             context     |-> ctx])
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, leaderVars, ghostVars>>

\* Server i follows the leader of its term, learns its commitIndex, and acknowledges.
HandleHeartbeatRequest(i, m) ==
    /\ Receivable(i, m, HeartbeatRequest)
    /\ m.term = currentTerm[i]
    /\ state'       = [state EXCEPT ![i] = Follower]
    /\ leaderId'    = [leaderId EXCEPT ![i] = m.from]
    /\ commitIndex' = [commitIndex EXCEPT ![i] = Max(@, Min(m.commitIndex, LastIndex(i)))]
    /\ Reply([type    |-> HeartbeatResponse,
              term    |-> currentTerm[i],
              from    |-> i,
              to      |-> m.from,
              context |-> m.context], m)
    /\ UNCHANGED <<currentTerm, votedFor, log, snapshotIndex, snapshotTerm, snapshotConfig,
                   candidateVars, leaderVars, ghostVars>>

\* Leader i counts a heartbeat acknowledgement for the read round m.context.
HandleHeartbeatResponse(i, m) ==
    /\ Receivable(i, m, HeartbeatResponse)
    /\ state[i] = Leader
    /\ m.term = currentTerm[i]
    /\ readRequests' = [readRequests EXCEPT ![i] =
           [k \in DOMAIN @ |-> IF @[k].context = m.context
                              THEN [@[k] EXCEPT !.acks = @ \cup {m.from}]
                              ELSE @[k]]]
    /\ Discard(m)
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, matchIndex,
                   leadTransferee, ghostVars>>

\* Leader i, which has committed an entry of its term, starts read round ctx at its commitIndex.
\* ctx must be fresh (the application's request id): an old acknowledgement
\* must never confirm a newer round.
ReadIndex(i, ctx) ==
    /\ state[i] = Leader
    /\ TermAt(i, commitIndex[i]) = currentTerm[i]
    /\ ctx /= 0
    /\ ctx \notin DOMAIN committedIndexAtRead
    /\ readRequests' = [readRequests EXCEPT ![i] =
           Append(@, [context |-> ctx, index |-> commitIndex[i], acks |-> {i}])]
    /\ committedIndexAtRead' = committedIndexAtRead @@ (ctx :> MaxCommitIndex)
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, matchIndex,
                   leadTransferee, messages, committedEntries, readHistory>>

\* Leader i answers read rounds 1..k once a quorum acknowledged round k.
ReleaseReadIndex(i, k) ==
    /\ state[i] = Leader
    /\ k \in 1..Len(readRequests[i])
    /\ Quorum(config[i], readRequests[i][k].acks)
    /\ readHistory' = readHistory \cup
           {[context |-> readRequests[i][l].context, index |-> readRequests[i][l].index] : l \in 1..k}
    /\ readRequests' = [readRequests EXCEPT ![i] = SubSeq(@, k + 1, Len(@))]
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, matchIndex,
                   leadTransferee, messages, committedEntries, committedIndexAtRead>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Leader transfer                                                         *)
(***************************************************************************)

\* Leader i starts handing leadership to voter j (new proposals wait meanwhile).
TransferLeader(i, j) ==
    /\ state[i] = Leader
    /\ j \in Voters(config[i])
    /\ j /= i
    /\ leadTransferee' = [leadTransferee EXCEPT ![i] = j]
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, matchIndex, readRequests,
                   messages, ghostVars>>

\* Leader i tells transferee j, now fully caught up, to campaign at once.
SendTimeoutNow(i, j) ==
    /\ state[i] = Leader
    /\ j /= Nil
    /\ leadTransferee[i] = j
    /\ matchIndex[i][j] = LastIndex(i)
    /\ Send([type |-> TimeoutNowRequest, term |-> currentTerm[i], from |-> i, to |-> j])
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, leaderVars, ghostVars>>

\* Leader i gives up the transfer (it timed out).
AbortLeaderTransfer(i) ==
    /\ state[i] = Leader
    /\ leadTransferee[i] /= Nil
    /\ leadTransferee' = [leadTransferee EXCEPT ![i] = Nil]
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, matchIndex, readRequests,
                   messages, ghostVars>>

\* Voter i, told by its leader, campaigns at once (no PreVote, leaderTransfer set).
HandleTimeoutNowRequest(i, m) ==
    /\ Receivable(i, m, TimeoutNowRequest)
    /\ m.term = currentTerm[i]
    /\ i \in Voters(config[i])
    /\ state[i] /= Leader
    /\ Campaign(i, TRUE)
    /\ messages' = AddAll(VoteRequests(i, currentTerm[i] + 1, FALSE, TRUE), Remove(m, messages))

-----------------------------------------------------------------------------
(***************************************************************************)
(* CheckQuorum                                                             *)
(***************************************************************************)

\* Leader i steps down (the code does when no quorum was recently active; time is abstract).
CheckQuorum(i) ==
    /\ state[i] = Leader
    /\ state'          = [state EXCEPT ![i] = Follower]
    /\ leaderId'       = [leaderId EXCEPT ![i] = Nil]
    /\ leadTransferee' = [leadTransferee EXCEPT ![i] = Nil]
    /\ readRequests'   = [readRequests EXCEPT ![i] = <<>>]
    /\ UNCHANGED <<persistentVars, candidateVars, matchIndex, messages, ghostVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Log compaction and InstallSnapshot                                      *)
(***************************************************************************)

\* Server i compacts its log up to committed index n.
CompactLog(i, n) ==
    /\ snapshotIndex[i] < n
    /\ n <= commitIndex[i]
    /\ snapshotIndex'  = [snapshotIndex EXCEPT ![i] = n]
    /\ snapshotTerm'   = [snapshotTerm EXCEPT ![i] = TermAt(i, n)]
    /\ snapshotConfig' = [snapshotConfig EXCEPT ![i] = ConfigAt(i, n)]
    /\ log'            = [log EXCEPT ![i] = SubSeq(@, n - snapshotIndex[i] + 1, Len(@))]
    /\ UNCHANGED <<currentTerm, votedFor, commitIndex, state, leaderId, candidateVars,
                   leaderVars, messages, ghostVars>>

\* Leader i sends j its snapshot.
InstallSnapshot(i, j) ==
    /\ state[i] = Leader
    /\ j \in Members(config[i]) \ {i}
    /\ Send([type           |-> InstallSnapshotRequest,
             term           |-> currentTerm[i],
             from           |-> i,
             to             |-> j,
             snapshotIndex  |-> snapshotIndex[i],
             snapshotTerm   |-> snapshotTerm[i],
             snapshotConfig |-> snapshotConfig[i]])
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, leaderVars, ghostVars>>

\* Server i handles a snapshot of its term's leader: (a) it has committed past it;
\* (b) its log holds the snapshot's last entry: commit it; (c) otherwise replace the log.
\* All three acknowledge with an AppendEntriesResponse.
HandleInstallSnapshotRequest(i, m) ==
    /\ Receivable(i, m, InstallSnapshotRequest)
    /\ m.term = currentTerm[i]
    /\ state'    = [state EXCEPT ![i] = Follower]
    /\ leaderId' = [leaderId EXCEPT ![i] = m.from]
    /\ IF m.snapshotIndex <= commitIndex[i]
       THEN /\ Reply(AppendEntriesResponseOf(i, m, TRUE, commitIndex[i], 0), m)
            /\ UNCHANGED logVars
       ELSE IF m.snapshotIndex <= LastIndex(i) /\ TermAt(i, m.snapshotIndex) = m.snapshotTerm
       THEN /\ commitIndex' = [commitIndex EXCEPT ![i] = m.snapshotIndex]
            /\ Reply(AppendEntriesResponseOf(i, m, TRUE, m.snapshotIndex, 0), m)
            /\ UNCHANGED <<log, snapshotIndex, snapshotTerm, snapshotConfig>>
       ELSE /\ snapshotIndex'  = [snapshotIndex EXCEPT ![i] = m.snapshotIndex]
            /\ snapshotTerm'   = [snapshotTerm EXCEPT ![i] = m.snapshotTerm]
            /\ snapshotConfig' = [snapshotConfig EXCEPT ![i] = m.snapshotConfig]
            /\ log'            = [log EXCEPT ![i] = <<>>]
            /\ commitIndex'    = [commitIndex EXCEPT ![i] = m.snapshotIndex]
            /\ Reply(AppendEntriesResponseOf(i, m, TRUE, m.snapshotIndex, 0), m)
    /\ UNCHANGED <<currentTerm, votedFor, candidateVars, leaderVars, ghostVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* Environment: the network and crashes (no code function)                 *)
(***************************************************************************)

\* The network loses one copy of m (also: the code ignores m).
DropMessage(m) ==
    /\ m \in DOMAIN messages
    /\ Discard(m)
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, leaderVars, ghostVars>>

\* The network delivers m twice.
DuplicateMessage(m) ==
    /\ m \in DOMAIN messages
    /\ Send(m)
    /\ UNCHANGED <<persistentVars, state, leaderId, candidateVars, leaderVars, ghostVars>>

\* Server i crashes and restarts from its persistent state.
Restart(i) ==
    /\ state'          = [state EXCEPT ![i] = Follower]
    /\ leaderId'       = [leaderId EXCEPT ![i] = Nil]
    /\ votesGranted'   = [votesGranted EXCEPT ![i] = {}]
    /\ votesResponded' = [votesResponded EXCEPT ![i] = {}]
    /\ matchIndex'     = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ readRequests'   = [readRequests EXCEPT ![i] = <<>>]
    /\ leadTransferee' = [leadTransferee EXCEPT ![i] = Nil]
    /\ UNCHANGED <<persistentVars, messages, ghostVars>>

-----------------------------------------------------------------------------
(***************************************************************************)
(* The next-state relation                                                 *)
(***************************************************************************)

\* Every message handler, for message m (addressed to m.to).
Receive(m) ==
    LET i == m.to IN
    \/ UpdateTerm(i, m)
    \/ HandleRequestVoteRequest(i, m)
    \/ HandleRequestVoteResponse(i, m)
    \/ HandleAppendEntriesRequest(i, m)
    \/ HandleAppendEntriesResponse(i, m)
    \/ HandleStaleLeaderRequest(i, m)
    \/ HandleHeartbeatRequest(i, m)
    \/ HandleHeartbeatResponse(i, m)
    \/ HandleTimeoutNowRequest(i, m)
    \/ HandleInstallSnapshotRequest(i, m)

\* A read context never used before.
FreshReadContext == Cardinality(DOMAIN committedIndexAtRead) + 1

Next ==
    \/ \E i \in Server : Timeout(i)
    \/ \E i \in Server : BecomeCandidate(i)
    \/ \E i \in Server : BecomeLeader(i)
    \/ \E i \in Server, v \in Value : ClientRequest(i, v)
    \/ \E i \in Server, c \in ValidConfigs : ChangeConfig(i, c)
    \/ \E i \in Server : LeaveJoint(i)
    \/ \E i, j \in Server : \E b \in (snapshotIndex[i] + 1)..(LastIndex(i) + 1) :
           \E e \in (b - 1)..LastIndex(i) : AppendEntries(i, j, b, e)
    \/ \E i \in Server : \E n \in (commitIndex[i] + 1)..LastIndex(i) : AdvanceCommitIndex(i, n)
    \/ \E i, j \in Server : \E ctx \in {0} \cup ReadContexts(i) : Heartbeat(i, j, ctx)
    \/ \E i \in Server : ReadIndex(i, FreshReadContext)
    \/ \E i \in Server : \E k \in 1..Len(readRequests[i]) : ReleaseReadIndex(i, k)
    \/ \E i, j \in Server : TransferLeader(i, j)
    \/ \E i, j \in Server : SendTimeoutNow(i, j)
    \/ \E i \in Server : AbortLeaderTransfer(i)
    \/ \E i \in Server : CheckQuorum(i)
    \/ \E i \in Server : \E n \in (snapshotIndex[i] + 1)..commitIndex[i] : CompactLog(i, n)
    \/ \E i, j \in Server : InstallSnapshot(i, j)
    \/ \E m \in DOMAIN messages : Receive(m)
    \/ \E m \in DOMAIN messages : DropMessage(m)
    \/ \E m \in DOMAIN messages : DuplicateMessage(m)
    \/ \E i \in Server : Restart(i)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(***************************************************************************)
(* Invariants                                                              *)
(***************************************************************************)

\* At most one leader per term.
ElectionSafety ==
    \A i, j \in Server :
        (i /= j /\ state[i] = Leader /\ state[j] = Leader) => currentTerm[i] /= currentTerm[j]

\* Two logs holding an entry of the same index and term agree on every entry up to it
\* (among the entries both still hold).
LogMatching ==
    \A i, j \in Server : i /= j =>
        LET lo == Max(snapshotIndex[i], snapshotIndex[j])
        IN  \A k \in lo..Min(LastIndex(i), LastIndex(j)) :
                TermAt(i, k) = TermAt(j, k) =>
                    \A l \in (lo + 1)..k : EntryAt(i, l) = EntryAt(j, l)

\* A leader's log holds every entry committed in an earlier term (or has compacted it).
LeaderCompleteness ==
    \A i \in Server : state[i] = Leader =>
        \A k \in 1..Len(committedEntries) :
            committedEntries[k].term < currentTerm[i] =>
                \/ k <= snapshotIndex[i]
                \/ k <= LastIndex(i) /\ EntryAt(i, k) = committedEntries[k].entry

\* What a server knows to be committed is what was committed: no two servers apply
\* different entries at one index.
StateMachineSafety ==
    \A i \in Server :
        /\ commitIndex[i] <= Len(committedEntries)
        /\ \A k \in (snapshotIndex[i] + 1)..Min(commitIndex[i], LastIndex(i)) :
               EntryAt(i, k) = committedEntries[k].entry
        /\ (0 < snapshotIndex[i] /\ snapshotIndex[i] <= Len(committedEntries)) =>
               snapshotTerm[i] = committedEntries[snapshotIndex[i]].entry.term

\* commitIndex lies within the log (and at or after the snapshot).
CommitIndexInLog ==
    \A i \in Server : snapshotIndex[i] <= commitIndex[i] /\ commitIndex[i] <= LastIndex(i)

\* A leader has at most one Config entry above its commitIndex.
AtMostOneUnappliedConfigChange ==
    \A i \in Server : state[i] = Leader =>
        Cardinality({k \in (commitIndex[i] + 1)..LastIndex(i) :
                        EntryAt(i, k).type = ConfigEntry}) <= 1

\* Every answered read saw at least what was committed when it began.
ReadSafety ==
    \A r \in readHistory : r.index >= committedIndexAtRead[r.context]

-----------------------------------------------------------------------------
(***************************************************************************)
(* Action properties (check as PROPERTIES)                                 *)
(***************************************************************************)

\* While a server stays leader of one term, its log only grows.
LeaderAppendOnly ==
    [][\A i \in Server :
          (state[i] = Leader /\ state'[i] = Leader /\ currentTerm'[i] = currentTerm[i]) =>
              /\ LastIndex(i)' >= LastIndex(i)
              /\ \A k \in (snapshotIndex'[i] + 1)..LastIndex(i) : EntryAt(i, k)' = EntryAt(i, k)
      ]_vars

MonotonicTerm ==
    [][\A i \in Server : currentTerm'[i] >= currentTerm[i]]_vars

MonotonicCommitIndex ==
    [][\A i \in Server : commitIndex'[i] >= commitIndex[i]]_vars

-----------------------------------------------------------------------------
(***************************************************************************)
(* Types (for debugging; expensive to check)                               *)
(***************************************************************************)

ConfigType == [voters: SUBSET Server, votersOutgoing: SUBSET Server, learners: SUBSET Server]

TypeOK ==
    /\ currentTerm \in [Server -> Nat]
    /\ votedFor \in [Server -> Server \cup {Nil}]
    /\ state \in [Server -> {Follower, PreCandidate, Candidate, Leader}]
    /\ leaderId \in [Server -> Server \cup {Nil}]
    /\ \A i \in Server : \A k \in DOMAIN log[i] :
           /\ log[i][k].type \in {NormalEntry, ConfigEntry}
           /\ log[i][k].type = ConfigEntry => log[i][k].config \in ConfigType
    /\ snapshotIndex \in [Server -> Nat]
    /\ snapshotTerm \in [Server -> Nat]
    /\ snapshotConfig \in [Server -> ConfigType]
    /\ commitIndex \in [Server -> Nat]
    /\ votesGranted \in [Server -> SUBSET Server]
    /\ votesResponded \in [Server -> SUBSET Server]
    /\ matchIndex \in [Server -> [Server -> Nat]]
    /\ leadTransferee \in [Server -> Server \cup {Nil}]
    /\ \A m \in DOMAIN messages : messages[m] \in Nat \ {0}

=============================================================================
