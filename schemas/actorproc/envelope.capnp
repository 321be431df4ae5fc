@0xa5db5db376f4efb0;
# The runtime's own wire format. Every frame on a mailbox socket (host <-> worker)
# and on a direct peer channel (worker <-> worker) is one Envelope, framed with
# Cap'n Proto's standard stream framing.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

struct Envelope {
  to @0 :UInt64;            # destination actor id; 0 is the node (host) itself
  from @1 :UInt64;          # sender actor id; 0 is the node
  correlation @2 :UInt64;   # 0 for one-way; otherwise matches a response to its request
  fdCount @3 :UInt8;        # descriptors attached to this frame with SCM_RIGHTS

  union {
    user @4 :Payload;       # a user message, dispatched by payload type id
    response @5 :Payload;   # the successful answer to request `correlation`
    failure @6 :Failure;    # the failed answer to request `correlation`
    system @7 :System;      # runtime control messages
    batch @8 :List(Payload);  # several one-way user messages, in order (correlation 0, no descriptors):
                              # a sender's burst to one actor, built once and validated once
  }
}

struct Payload {
  typeId @0 :UInt64;        # capnp::typeId<T>() of the struct in `body`
  body @1 :AnyPointer;
}

struct ExitReason {
  kind @0 :Kind;
  code @1 :Int32;           # exit status for kind=exitCode
  signal @2 :Int32;         # signal number for kind=signal
  coreDumped @3 :Bool;
  detail @4 :Text;          # human-readable context (exception text, protocol error...)

  enum Kind {
    normal @0;
    shutdown @1;
    exitCode @2;
    signal @3;
    exception @4;
    protocolError @5;
    launchFailed @6;
    hung @7;
    oom @8;
  }
}

struct Failure {
  code @0 :UInt16;          # actorproc::errc
  message @1 :Text;
  reason @2 :ExitReason;    # set when code is actorDown
}

struct System {
  union {
    ready @0 :Void;         # worker -> node: constructed, now serving its mailbox
    stop @1 :ExitReason;    # node -> worker: finish and exit with this reason
    exit @2 :ExitReason;    # worker -> node: the reason it is about to exit with
    down @3 :Down;          # node -> worker: an actor it monitors has exited
    monitor @4 :UInt64;     # worker -> node: tell me when this actor exits
    heartbeat @5 :UInt64;   # either way: liveness probe (answered with the same value)
    peer @6 :UInt64;        # node -> worker: the attached fd is a direct channel to this actor
    credit @7 :UInt32;      # reserved for credit-based flow control
    connect @8 :UInt64;     # worker -> node, as a request: a direct channel to this actor (context::connect);
                            # answered (an empty response) after both actors' `peer` introductions
  }
}

struct Down {
  actor @0 :UInt64;
  reason @1 :ExitReason;
}
