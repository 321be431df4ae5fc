@0xaab5f2a445dde093;
# Messages of the test actors (tests/children/test_actors.hpp).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("testing");

struct Echo { text @0 :Text; }
struct Crash {
  how @0 :How;
  # runOutOfMemory: sets RLIMIT_AS a little above what the worker maps, then
  # allocates far beyond it.
  enum How { segfault @0; abort @1; exit3 @2; throwException @3; ignoreTermAndHang @4; stopNormally @5;
             runOutOfMemory @6; }
}
struct Nap { millis @0 :UInt32; }
struct Relay { target @0 :UInt64; text @1 :Text; timeoutMillis @2 :UInt32; }
# Sends `count` Ticks to `target`; when `numbered`, Seq messages numbered from
# 0 instead, every `bigEvery`-th of them (if not 0) carrying 20 KB of padding.
# Stops at the first failed send; answered with a Report (sent, the error).
struct Flood { target @0 :UInt64; count @1 :UInt64; numbered @2 :Bool; bigEvery @3 :UInt32; }
struct Seq { n @0 :UInt64; pad @1 :Data; }
struct SeqStats {}                       # answered with a Report: Seq messages received, first order error
struct NestedSend { target @0 :UInt64; } # a send whose fill function makes a request (a usage error)
struct BigReply { bytes @0 :UInt32; }    # answered with an Echo of that many bytes of text
struct SendGarbage {
  kind @0 :Kind;
  enum Kind { tooManySegments @0; oversized @1; badPointer @2; unknownKind @3; truncated @4; spoofedSender @5; emptyFrame @6; wrongPointerKind @7; batchWithCorrelation @8; }
}
struct Connect { target @0 :UInt64; }    # context::connect to target; answered with an Echo: "connected" or the error
struct Tick {}
struct Stats {}
struct Report { received @0 :UInt64; text @1 :Text; }
struct Watch { target @0 :UInt64; }
struct WhoAmI {}
struct Identity {
  id @0 :UInt64;
  name @1 :Text;
  pid @2 :Int32;
  ppid @3 :Int32;
  args @4 :List(Text);
  openFds @5 :List(Int32);
}
struct Unhandled {}
struct PipeServe { count @0 :UInt32; }   # echo `count` Echo messages back on the actor's pipe
struct PipeAdopt {}
# For piper: send `count` Echo messages on the pipe, the i-th one's text
# "<i>:" padded with 'x' to `bytes`, then finish as said.
struct PipeFlood {
  count @0 :UInt32;
  bytes @1 :UInt32;
  finish @2 :Finish;
  lingerMillis @3 :UInt32;
  sendTimeoutMillis @4 :UInt32;  # 0: 20 s
  enum Finish {
    exitHoldingEnd @0;     # stop; the end is closed by the actor's destructor
    closeThenExit @1;      # close() with the default linger, then stop
    closeAndReport @2;     # close(lingerMillis), answer a Report: its text is close()'s error, or empty
    receiveThenReport @3;  # receive `count` Echo messages (checking their order), then send a Report on the pipe
    reportAndIdle @4;      # answer a Report (received: the end's unsent bytes), keep the end, and wait idle
  }
}
# For queue_worker: put `produce` items "<prefix><i>", then take `take` items
# (acknowledging each with task_done when `ack`); answered with a Report whose
# text lists what was taken, space-separated.
# A dict value with Int64 fields (atomic updates); `bumped` has a default.
struct Tally { count @0 :Int64; other @1 :Int64; label @2 :Text; bumped @3 :Int64 = 5; }
# For dict_worker: `count` atomic adds of 1 to the dict's Tally `key`.count,
# as requests or one-way (then a sync), then a get of the entry; answered with
# a Report: received = the count the get saw, text = the first error or empty.
struct DictWork { dict @0 :UInt64; key @1 :Text; count @2 :UInt32; oneWay @3 :Bool; }
struct LockTake { lock @0 :UInt64; timeoutMillis @1 :UInt32; }  # acquire and keep; Report text "ok" or "died: <reason>"
struct LockGive { lock @0 :UInt64; }                             # release; Report text "ok" or the error
# For syncer: one operation on a synchronization actor (patterns/sync.hpp) from
# inside a worker; answered with a Report (see test_actors.hpp for each op).
struct SyncDo {
  target @0 :UInt64;
  op @1 :Op;
  timeoutMillis @2 :UInt32;
  times @3 :UInt32 = 1;         # semAcquire, counterAdd: how many; condNotify: how many to wake (0: all)
  reacquireMillis @4 :UInt32 = 20000;  # condWait
  enum Op { semAcquire @0; semRelease @1; eventWait @2; condWait @3; barrierWait @4; counterAdd @5; condNotify @6; }
}
# `prefetch` (if not 0): the client's fixed batch size (queue_client_options,
# horizon 0). `hold`: keep the client (and what it fetched) after the reply,
# for the next QueueWork, instead of letting it go before replying.
struct QueueWork { queue @0 :UInt64; produce @1 :UInt32; prefix @2 :Text; take @3 :UInt32; ack @4 :Bool;
                   prefetch @5 :UInt32; hold @6 :Bool; }                      # carries a pipe end (one descriptor) for the actor
# For port_user: write `lines` to the port, close its input, read until the end;
# answered with a Report of what was read, "|"-separated, then "|" and the error that ended it.
struct PortChat { port @0 :UInt64; lines @1 :List(Text); }

# Same layout as actorproc's Envelope, with a union one member longer: setting `e`
# produces an envelope whose kind the runtime does not know.
struct FakeEnvelope {
  to @0 :UInt64;
  from @1 :UInt64;
  correlation @2 :UInt64;
  fdCount @3 :UInt8;
  union {
    a @4 :AnyPointer;
    b @5 :AnyPointer;
    c @6 :AnyPointer;
    d @7 :AnyPointer;
    batch @8 :AnyPointer;
    f @9 :AnyPointer;
  }
}

# Pool tasks (test_actors::pool_functions): the result is x * x, computed by a
# worker after the optional gate (a FIFO it reads one byte from) opens.
struct Work {
  x @0 :Int64;
  action @1 :Action;
  marker @2 :Text;   # segfaultOnce: crash only if this file did not exist yet (and create it)
  gate @3 :Text;
  enum Action { none @0; throwException @1; segfault @2; segfaultOnce @3; }
}
struct WorkResult { value @0 :Int64; pid @1 :Int32; init @2 :Text; }

# signal_reporter (process_test): the disposition and the blocked state of each
# signal asked about, in the actor's own process.
struct SignalQuery @0x88e82f8e209e3916 { signals @0 :List(Int32); }
struct SignalReport @0xbfca541d0c589273 {
  dispositions @0 :List(Disposition);
  blocked @1 :List(Bool);
  enum Disposition { default @0; ignored @1; handled @2; }
}
