------------------------------ MODULE TraceRaft ------------------------------
(***************************************************************************)
(* Trace validation: TLC checks that an NDJSON trace of a run of the       *)
(* TypeScript core (test/sim/TraceWriter.ts) is a behaviour of Raft.tla.   *)
(*                                                                         *)
(* Each trace line names the spec action the code took, with its server,   *)
(* its message and its parameters, and the acting server's spec variables  *)
(* after the action.  One line is one step: the step is that action with   *)
(* those parameters, and after it the spec's variables of that server must *)
(* equal the traced ones.  Messages the code receives must be in the       *)
(* spec's bag; messages the code sends must be the ones the spec sends.    *)
(* The spec's other variables (votes, matchIndex, readRequests,            *)
(* leadTransferee, the bag) are not traced: the spec computes them, and    *)
(* they decide which later steps are enabled.                              *)
(*                                                                         *)
(* A trace file holds one or more traces, each starting with its Init      *)
(* line; all of them must share servers, initialConfig, preVote and      *)
(* checkQuorum.                                                            *)
(* The variable t picks the trace, l the next line to match.  Every step   *)
(* is deterministic, so the state graph is one path per trace.             *)
(*                                                                         *)
(* Traces of the cluster simulator (test/dst/TraceWriter.ts) merge every   *)
(* member's events in one order; a Restart there may have lost unsynced    *)
(* writes (RestartRecovered below).                                        *)
(*                                                                         *)
(* Run: npm run validate-traces -- FILE... (the script runs TLC with a    *)
(* copy of TraceRaft.cfg that sets TraceFile), or set TraceFile in a copy  *)
(* of TraceRaft.cfg and run                                                *)
(*   java -cp tla2tools.jar tlc2.TLC -workers 1 -noGenerateSpecTE          *)
(*        -config COPY.cfg spec/TraceRaft.tla                              *)
(* A line that no step matches is printed as TRACE MISMATCH with what      *)
(* differs, and the postcondition TraceMatched fails, naming each trace    *)
(* and the line where matching stopped.  scripts/validate-traces.ts runs   *)
(* this on batches of simulator traces.                                    *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC, Json

-----------------------------------------------------------------------------
(***************************************************************************)
(* Reading the trace file                                                  *)
(***************************************************************************)

\* The NDJSON file to validate.  A constant set in the .cfg (not read from the environment
\* with TLCGet("-D..."), which TLC treats as state-level and would re-read on every use).
CONSTANT TraceFile

\* Every line of the file, in order.
Lines == ndJsonDeserialize(TraceFile)

\* The Init lines, one per trace, in order: Starts[k] is the line where trace k starts.
StartSet == {k \in DOMAIN Lines : Lines[k].action = "Init"}
NumTraces == Cardinality(StartSet)
Start(k) == CHOOSE s \in StartSet : Cardinality({x \in StartSet : x < s}) = k - 1
Starts == [k \in 1..NumTraces |-> Start(k)]
\* The last line of trace k.
End(k) == IF k = NumTraces THEN Len(Lines) ELSE Starts[k + 1] - 1

Header == Lines[1]

ASSUME /\ Len(Lines) >= 1
       /\ Lines[1].action = "Init"
       /\ \A k \in 1..NumTraces :
              LET h == Lines[Starts[k]] IN
              /\ h.servers = Header.servers
              /\ h.initialConfig = Header.initialConfig
              /\ h.preVote = Header.preVote
              /\ h.checkQuorum = Header.checkQuorum

-----------------------------------------------------------------------------
(***************************************************************************)
(* From JSON to the spec's values                                          *)
(***************************************************************************)

\* A JSON array (a tuple) as a set.
ToSet(s) == {s[k] : k \in DOMAIN s}

JConfig(c) == [voters         |-> ToSet(c.voters),
               votersOutgoing |-> ToSet(c.votersOutgoing),
               learners       |-> ToSet(c.learners)]

\* A traced entry {term, index, type, value, config} as the spec's [term, type, value, config]
\* (Normal entries carry empty lists: the spec's NoConfig).
JEntry(e) == [term |-> e.term, type |-> e.type, value |-> e.value, config |-> JConfig(e.config)]

JLog(s) == [k \in DOMAIN s |-> JEntry(s[k])]

\* A traced message as the spec's record: the spec's fields only.
JMessage(m) ==
    CASE m.type = "RequestVoteRequest" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to,
             preVote |-> m.preVote, lastLogIndex |-> m.lastLogIndex,
             lastLogTerm |-> m.lastLogTerm, leaderTransfer |-> m.leaderTransfer]
      [] m.type = "RequestVoteResponse" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to,
             preVote |-> m.preVote, voteGranted |-> m.voteGranted]
      [] m.type = "AppendEntriesRequest" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to,
             prevLogIndex |-> m.prevLogIndex, prevLogTerm |-> m.prevLogTerm,
             entries |-> JLog(m.entries), commitIndex |-> m.commitIndex]
      [] m.type = "AppendEntriesResponse" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to,
             success |-> m.success, matchIndex |-> m.matchIndex, hintIndex |-> m.hintIndex]
      [] m.type = "HeartbeatRequest" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to,
             commitIndex |-> m.commitIndex, context |-> m.context]
      [] m.type = "HeartbeatResponse" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to,
             context |-> m.context]
      [] m.type = "InstallSnapshotRequest" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to,
             snapshotIndex |-> m.snapshotIndex, snapshotTerm |-> m.snapshotTerm,
             snapshotConfig |-> JConfig(m.snapshotConfig)]
      [] m.type = "TimeoutNowRequest" ->
            [type |-> m.type, term |-> m.term, from |-> m.from, to |-> m.to]

-----------------------------------------------------------------------------
(***************************************************************************)
(* The protocol, with the constants of the traced run                      *)
(***************************************************************************)

VARIABLES
    currentTerm, votedFor, log, snapshotIndex, snapshotTerm, snapshotConfig, commitIndex,
    state, leaderId, votesGranted, votesResponded, matchIndex, readRequests, leadTransferee,
    messages, committedEntries, readHistory, committedIndexAtRead

\* Which trace of the file (fixed by the initial state), and the next line of it to match.
VARIABLES t, l

\* What each server promised that another server acted on: the last vote grant (not a pre-vote)
\* and the highest successful append ack of its latest acked term that a receiver handled.
\* A restart that lost writes (RestartRecovered) must keep them.  Only received messages
\* count: a reply the code never sent (a crash before its save was synced) promised nothing.
VARIABLE promised

TraceServers == ToSet(Header.servers)

INSTANCE Raft WITH
    Server             <- TraceServers,
    Value              <- 1..255,
    NoOp               <- 0,
    NoConfig           <- [voters |-> {}, votersOutgoing |-> {}, learners |-> {}],
    InitialConfig      <- JConfig(Header.initialConfig),
    PreVote            <- Header.preVote,
    CheckQuorumEnabled <- Header.checkQuorum

traceVars == <<vars, t, l, promised>>

NoPromise == [voteTerm |-> 0, vote |-> Nil, matchTerm |-> 0, match |-> 0]

-----------------------------------------------------------------------------
(***************************************************************************)
(* Matching one line                                                       *)
(***************************************************************************)

line == Lines[l]

\* The line's message (as the spec's record), server, and traced state.
Msg == JMessage(line.message)
Srv == line.server
HasServer == "server" \in DOMAIN line

\* The last entry of the traced log: what ClientRequest and ChangeConfig appended.
TracedLastEntry == JEntry(line.state.log[Len(line.state.log)])

\* The spec's view of server i, and the traced one, field for field.
SpecView(i) ==
    [currentTerm |-> currentTerm[i], state |-> state[i], votedFor |-> votedFor[i],
     leaderId |-> leaderId[i], commitIndex |-> commitIndex[i],
     snapshotIndex |-> snapshotIndex[i], snapshotTerm |-> snapshotTerm[i],
     log |-> log[i], config |-> config[i]]

\* SpecView(i) after the step.  (Not SpecView(i)': i comes from the current line, which
\* must not be primed.)
SpecViewNext(i) ==
    [currentTerm |-> currentTerm'[i], state |-> state'[i], votedFor |-> votedFor'[i],
     leaderId |-> leaderId'[i], commitIndex |-> commitIndex'[i],
     snapshotIndex |-> snapshotIndex'[i], snapshotTerm |-> snapshotTerm'[i],
     log |-> log'[i], config |-> config'[i]]

TracedView(s) ==
    [currentTerm |-> s.currentTerm, state |-> s.state, votedFor |-> s.votedFor,
     leaderId |-> s.leaderId, commitIndex |-> s.commitIndex,
     snapshotIndex |-> s.snapshotIndex, snapshotTerm |-> s.snapshotTerm,
     log |-> JLog(s.log), config |-> JConfig(s.config)]

\* Copies of m in flight.
Count(m) == IF m \in DOMAIN messages THEN messages[m] ELSE 0

\* The step sent exactly one more copy of m (the spec's message equals the traced one).
SentTraced(m) == m \in DOMAIN messages' /\ messages'[m] = Count(m) + 1

\* Recovered state s keeps what server i promised: its term, its vote, the entries it acked.
KeepsPromises(i, s) ==
    LET p == promised[i] IN
    /\ s.currentTerm >= p.voteTerm
    /\ s.currentTerm = p.voteTerm => s.votedFor = p.vote
    /\ s.currentTerm >= p.matchTerm
    /\ s.currentTerm = p.matchTerm => s.snapshotIndex + Len(s.log) >= p.match

\* A restart from a disk that lost writes not yet synced (the cluster simulator, test/dst, crashes
\* like power loss).  Raft.tla's Restart keeps every persistent variable; here server i comes
\* back with the persistent state it had after the earlier line params.recoveredAt of this
\* trace (1 = its Init line; so it is a state the spec reached), except that its commitIndex may be lower (the
\* commit index is persisted after it advances).  Rolling back is sound only if nothing the
\* server sent depended on what was lost: KeepsPromises checks that for the votes and acks a
\* receiver handled; the node-loop validator (src/check/node-loop.ts) checks the sender's side
\* on the same run (votes and acks leave after their state is durable).
RestartRecovered(i) ==
    LET k    == Starts[t] + line.params.recoveredAt - 1
        past == Lines[k]
        s    == line.state
    IN  /\ Starts[t] < k /\ k < l
        /\ "server" \in DOMAIN past /\ past.server = i
        /\ "state" \in DOMAIN past
        /\ \A f \in {"currentTerm", "votedFor", "snapshotIndex", "snapshotTerm", "log", "config"} :
              past.state[f] = s[f]
        /\ s.commitIndex <= past.state.commitIndex
        /\ KeepsPromises(i, s)
        /\ currentTerm'    = [currentTerm EXCEPT ![i] = s.currentTerm]
        /\ votedFor'       = [votedFor EXCEPT ![i] = s.votedFor]
        /\ log'            = [log EXCEPT ![i] = JLog(s.log)]
        /\ snapshotIndex'  = [snapshotIndex EXCEPT ![i] = s.snapshotIndex]
        /\ snapshotTerm'   = [snapshotTerm EXCEPT ![i] = s.snapshotTerm]
        /\ snapshotConfig' = [snapshotConfig EXCEPT ![i] = JConfig(line.recoveredSnapshotConfig)]
        /\ commitIndex'    = [commitIndex EXCEPT ![i] = s.commitIndex]
        /\ state'          = [state EXCEPT ![i] = Follower]
        /\ leaderId'       = [leaderId EXCEPT ![i] = Nil]
        /\ votesGranted'   = [votesGranted EXCEPT ![i] = {}]
        /\ votesResponded' = [votesResponded EXCEPT ![i] = {}]
        /\ matchIndex'     = [matchIndex EXCEPT ![i] = [j \in TraceServers |-> 0]]
        /\ readRequests'   = [readRequests EXCEPT ![i] = <<>>]
        /\ leadTransferee' = [leadTransferee EXCEPT ![i] = Nil]
        /\ UNCHANGED <<messages, committedEntries, readHistory, committedIndexAtRead>>

\* promised after this line: the line's server handled a vote grant or an append ack.
NextPromised ==
    LET m == line.message
        f == m.from
    IN  IF /\ line.action = "HandleRequestVoteResponse"
           /\ m.voteGranted /\ ~m.preVote
        THEN [promised EXCEPT ![f] = [@ EXCEPT !.voteTerm = m.term, !.vote = m.to]]
        ELSE IF /\ line.action = "HandleAppendEntriesResponse"
                /\ m.success
                /\ \/ m.term > promised[f].matchTerm
                   \/ m.term = promised[f].matchTerm /\ m.matchIndex > promised[f].match
        THEN [promised EXCEPT ![f] = [@ EXCEPT !.matchTerm = m.term, !.match = m.matchIndex]]
        ELSE promised

\* The spec action the line names, with the line's parameters.  For actions that send one
\* message the traced message fixes the parameters; SentTraced checks the spec sent just it.
SpecStep ==
    LET a == line.action IN
    CASE a = "Timeout"                      -> Timeout(Srv)
      [] a = "BecomeCandidate"              -> BecomeCandidate(Srv)
      [] a = "BecomeLeader"                 -> BecomeLeader(Srv)
      [] a = "UpdateTerm"                   -> UpdateTerm(Srv, Msg)
      [] a = "HandleRequestVoteRequest"     -> HandleRequestVoteRequest(Srv, Msg)
      [] a = "HandleRequestVoteResponse"    -> HandleRequestVoteResponse(Srv, Msg)
      [] a = "ClientRequest"                -> ClientRequest(Srv, TracedLastEntry.value)
      [] a = "ChangeConfig"                 ->
            ChangeConfig(Srv, [voters         |-> TracedLastEntry.config.voters,
                               votersOutgoing |-> {},
                               learners       |-> TracedLastEntry.config.learners])
      [] a = "LeaveJoint"                   -> LeaveJoint(Srv)
      [] a = "AppendEntries"                ->
            AppendEntries(Srv, Msg.to, Msg.prevLogIndex + 1, Msg.prevLogIndex + Len(Msg.entries))
      [] a = "HandleAppendEntriesRequest"   -> HandleAppendEntriesRequest(Srv, Msg)
      [] a = "HandleAppendEntriesResponse"  -> HandleAppendEntriesResponse(Srv, Msg)
      [] a = "HandleStaleLeaderRequest"     -> HandleStaleLeaderRequest(Srv, Msg)
      [] a = "AdvanceCommitIndex"           -> AdvanceCommitIndex(Srv, line.params.n)
      [] a = "Heartbeat"                    -> Heartbeat(Srv, Msg.to, Msg.context)
      [] a = "HandleHeartbeatRequest"       -> HandleHeartbeatRequest(Srv, Msg)
      [] a = "HandleHeartbeatResponse"      -> HandleHeartbeatResponse(Srv, Msg)
      [] a = "ReadIndex"                    -> ReadIndex(Srv, line.params.context)
      [] a = "ReleaseReadIndex"             -> ReleaseReadIndex(Srv, line.params.k)
      [] a = "TransferLeader"               -> TransferLeader(Srv, line.params.target)
      [] a = "SendTimeoutNow"               -> SendTimeoutNow(Srv, Msg.to)
      [] a = "AbortLeaderTransfer"          -> AbortLeaderTransfer(Srv)
      [] a = "HandleTimeoutNowRequest"      -> HandleTimeoutNowRequest(Srv, Msg)
      [] a = "CheckQuorum"                  -> CheckQuorum(Srv)
      [] a = "CompactLog"                   -> CompactLog(Srv, line.params.n)
      [] a = "InstallSnapshot"              -> InstallSnapshot(Srv, Msg.to)
      [] a = "HandleInstallSnapshotRequest" -> HandleInstallSnapshotRequest(Srv, Msg)
      \* The code ignoring a message addressed to it (with a server), or the network losing one.
      [] a = "DropMessage"                  -> DropMessage(Msg) /\ (HasServer => Msg.to = Srv)
      [] a = "DuplicateMessage"             -> DuplicateMessage(Msg)
      \* With params.recoveredAt: a restart that lost unsynced writes (test/dst).
      [] a = "Restart"                      ->
            IF "params" \in DOMAIN line THEN RestartRecovered(Srv) ELSE Restart(Srv)
      [] OTHER                              -> FALSE

SendActions == {"AppendEntries", "Heartbeat", "SendTimeoutNow", "InstallSnapshot"}

\* The answer a Handle*Request line says the code sent.
HasReply == "reply" \in DOMAIN line
TracedReply == JMessage(line.reply)

\* What must hold after the step besides the spec action itself: the spec sent what the code
\* sent, and the acting server's variables are the traced ones.
Observed ==
    /\ line.action \in SendActions => SentTraced(Msg)
    /\ HasReply => SentTraced(TracedReply)
    /\ HasServer => SpecViewNext(Srv) = TracedView(line.state)

MatchLine ==
    /\ l <= End(t)
    /\ SpecStep
    /\ Observed
    /\ l' = l + 1
    /\ promised' = NextPromised
    /\ UNCHANGED t
    /\ TLCSet(t, l + 1)   \* how far trace t got, for TraceMatched

-----------------------------------------------------------------------------
(***************************************************************************)
(* Explaining a mismatch                                                   *)
(***************************************************************************)

\* Line l of the file as the line number within its trace.
LineInTrace == l - Starts[t] + 1

Where == <<"TRACE MISMATCH", "trace", t, "line", LineInTrace, line.action,
           IF HasServer THEN <<"server", Srv>> ELSE <<>>>>

\* Where logs a (the spec's) and b (the code's) first differ, both after snapshot index off.
FirstDiff(a, b, off) ==
    LET n  == IF Len(a) >= Len(b) THEN Len(a) ELSE Len(b)
        ks == {k \in 1..n : k > Len(a) \/ k > Len(b) \/ a[k] /= b[k]}
        k  == CHOOSE x \in ks : \A y \in ks : x <= y
    IN  [logIndex |-> off + k,
         spec     |-> IF k <= Len(a) THEN a[k] ELSE "none",
         code     |-> IF k <= Len(b) THEN b[k] ELSE "none"]

\* Fields of spec view sv and traced view tv that differ.
ViewDiff(sv, tv) ==
    [f \in {g \in DOMAIN tv : sv[g] /= tv[g]} |->
        IF f = "log" THEN [specLastIndex   |-> sv.snapshotIndex + Len(sv.log),
                           codeLastIndex   |-> tv.snapshotIndex + Len(tv.log),
                           firstDifference |-> FirstDiff(sv.log, tv.log, sv.snapshotIndex)]
        ELSE [spec |-> sv[f], code |-> tv[f]]]

\* Messages in flight to the same server from the same sender, of the same type.
NearMessages(m) == {x \in DOMAIN messages : x.type = m.type /\ x.from = m.from /\ x.to = m.to}

\* What the spec sent in this step (copies added to the bag).
SpecSent == {x \in DOMAIN messages' : x \notin DOMAIN messages \/ messages'[x] > messages[x]}

\* The spec action is enabled but its outcome differs from the trace.
ExplainOutcome ==
    PrintT(Where \o
           <<"the spec action is enabled but its outcome differs from the trace",
             IF HasServer THEN ViewDiff(SpecViewNext(Srv), TracedView(line.state)) ELSE <<>>,
             IF \/ line.action \in SendActions /\ ~SentTraced(Msg)
                \/ HasReply /\ ~SentTraced(TracedReply)
             THEN [codeSent |-> IF HasReply THEN TracedReply ELSE Msg, specSent |-> SpecSent]
             ELSE <<>> >>)

\* SpecView(i) with the log shown as its terms only (entry k is at index snapshotIndex + k).
BriefView(i) ==
    [f \in DOMAIN SpecView(i) \ {"log"} |-> SpecView(i)[f]]
        @@ ("logTerms" :> [k \in DOMAIN log[i] |-> log[i][k].term])

\* The spec action is not enabled: show the spec's view of the server before the step.
ExplainDisabled ==
    PrintT(Where \o
           <<"the spec action is not enabled in the spec's state",
             IF HasServer /\ Srv \in TraceServers
             THEN [specBefore |-> BriefView(Srv),
                   lastIndex |-> LastIndex(Srv),
                   leadTransferee |-> leadTransferee[Srv],
                   matchIndex |-> matchIndex[Srv],
                   readRequests |-> readRequests[Srv],
                   votesGranted |-> votesGranted[Srv],
                   promised |-> promised[Srv]]
             ELSE <<>>,
             IF "message" \in DOMAIN line
             THEN [message |-> Msg, inFlight |-> Msg \in DOMAIN messages,
                   similarInFlight |-> NearMessages(Msg)]
             ELSE <<>>,
             IF "params" \in DOMAIN line THEN line.params ELSE <<>> >>)

\* No step matches line l: say why, and stop (no successor).
Diagnose ==
    /\ l <= End(t)
    /\ ~ENABLED MatchLine
    /\ IF ENABLED SpecStep
       THEN SpecStep /\ ExplainOutcome
       ELSE ExplainDisabled
    /\ FALSE

-----------------------------------------------------------------------------
(***************************************************************************)
(* The trace behaviour and its verdict                                     *)
(***************************************************************************)

TraceInit ==
    /\ Init
    /\ t \in 1..NumTraces
    /\ l = Starts[t] + 1
    /\ promised = [i \in TraceServers |-> NoPromise]

TraceNext == MatchLine \/ Diagnose

TraceSpec == TraceInit /\ [][TraceNext]_traceVars

\* Checked after TLC is done: every trace was matched to its last line.  The registers
\* TLCSet(t, _) record, per trace, the line after the last one matched.
Reached(k) ==
    LET regs == TLCGet("all")
    IN  IF k \in DOMAIN regs /\ Len(regs[k]) > 0
        THEN MaxOf({regs[k][w] : w \in DOMAIN regs[k]})
        ELSE Starts[k] + 1

TraceVerdict(k) ==
    IF Reached(k) > End(k)
    THEN <<"trace", k, "matched", End(k) - Starts[k], "lines">>
    ELSE <<"trace", k, "FAILED at line", Reached(k) - Starts[k] + 1,
           "of", End(k) - Starts[k] + 1, Lines[Reached(k)].action>>

TraceMatched ==
    /\ \A k \in 1..NumTraces : PrintT(TraceVerdict(k))
    /\ \A k \in 1..NumTraces : Reached(k) > End(k)

\* Trace validation needs one worker (the registers and the printed diagnosis assume it).
ASSUME TLCGet("config").worker = 1

=============================================================================
