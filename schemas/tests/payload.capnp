@0xd6e3a1f0b2c4e5a7;
# Messages of the large-payload tests and of bench/payload_bench.cpp.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("payload");

# A payload carried in the frame itself, as a Data field.
struct BigData { data @0 :Data; }
# A payload carried as a sealed shared_buffer: the message's one descriptor.
struct BigBuffer { bytes @0 :UInt64; }
# The receiver's answer: the bytes it read, and the sum of one byte per page.
struct Took { bytes @0 :UInt64; sum @1 :UInt64; }
# For a source actor: send `reps` payloads of `bytes` to `target`, each as a
# request answered with Took, and answer with the seconds each one took.
struct Push {
  target @0 :UInt64;
  bytes @1 :UInt64;
  reps @2 :UInt32;
  mode @3 :Mode;
  enum Mode { data @0; buffer @1; }
}
struct Timings { seconds @0 :List(Float64); sum @1 :UInt64; text @2 :Text; }
# For the receiver: answer with a buffer of `bytes`, each byte `fill`.
struct MakeBuffer { bytes @0 :UInt64; fill @1 :UInt8; }
# For payload_test's "relay": make a payload of `bytes` (byte i is i % 251) and
# send it to `target` as a request, the way `mode` says; answers with the
# target's Took.
struct Forward { target @0 :UInt64; bytes @1 :UInt64; mode @2 :Push.Mode; }
# Answered with Took: `bytes` is the number of descriptors open in the actor.
struct CountFds {}
# Writes a raw frame to the mailbox that announces `announced` descriptors and
# carries `attached` (pipe ends): a lying sender.
struct SendFds { announced @0 :UInt8; attached @1 :UInt8; }
