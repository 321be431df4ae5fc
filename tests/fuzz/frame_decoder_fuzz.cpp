// libFuzzer target: arbitrary bytes from a peer through frame_decoder and
// envelope_reader, the two places where an untrusted stream becomes frames and
// then typed Envelopes. Nothing a peer sends may crash, hang or leak here; a
// protocol_error is the expected answer to garbage.
//
// Build (clang only; the rest of the project builds with g++ as usual):
//   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DACTORPROC_FUZZ=ON \
//     -DACTORPROC_BUILD_TESTS=OFF -DACTORPROC_BUILD_EXAMPLES=OFF -DACTORPROC_BUILD_BENCH=OFF
//   ninja -C build-fuzz frame_decoder_fuzz
// Run for a bounded time (new inputs go to the first, writable, corpus directory):
//   mkdir -p build-fuzz/corpus
//   ./build-fuzz/tests/fuzz/frame_decoder_fuzz -max_total_time=20 build-fuzz/corpus tests/fuzz/corpus
// Reproduce a finding:
//   ./build-fuzz/tests/fuzz/frame_decoder_fuzz crash-<sha1>
//
// tests/fuzz/corpus holds valid streams to start from (each file is the raw bytes
// a worker or the node would put on a mailbox socket):
//   ready.bin      one System.ready envelope (worker -> node);
//   ping_user.bin  one user envelope carrying a demo::Ping with an 8-byte payload;
//   stream3.bin    three frames back to back: a request, its Failure (with an
//                  ExitReason and texts) and a System.stop;
//   regress_user_pointer_is_list.bin
//                  found by this fuzzer: a user envelope whose `user` pointer is a
//                  list pointer. envelope_reader used to accept it and the node's
//                  later getUser() threw on the reactor thread, killing the node;
//                  envelope_reader now reads every typed field and refuses it.
//
// Each input is decoded twice:
//  1. fed in one piece, every frame checked as it comes (the node's reactor);
//  2. fed in 7-byte pieces while the decoder is held, with every frame checked
//     only at the end: frames returned while held must stay valid across later
//     feed() calls (the worker's nested request), which ASan verifies.
// A frame that passes envelope_reader is then read the way the node and the
// worker read it; those reads must not throw (envelope_reader's promise that
// "everything after it may trust the frame").
//
// Any other exception escaping those reads (a kj::Exception above all) is a
// finding: envelope_reader promises that a frame it accepts can be read freely.

#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/message.hpp>
#include <actorproc/wire/protocol_error.hpp>

#include <kj/exception.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

namespace wire = actorproc::wire;
namespace schema = actorproc::schema;

volatile uint64_t sink;  // keeps the reads below from being optimized away

void read_payload(schema::Payload::Reader p) {
  sink = sink + p.getTypeId();
  sink = sink + p.getBody().isNull();
}

// What the node (reactor::route, reactor::to_node) and the worker (handle,
// take_if_answer) read from a validated envelope.
void use(kj::ArrayPtr<const capnp::word> frame, const wire::limits& lim) {
  wire::envelope_reader env(frame, lim);  // throws protocol_error on garbage
  auto e = env.get();
  sink = sink + e.getTo() + e.getFrom() + e.getCorrelation() + e.getFdCount();
  switch (e.which()) {
    case schema::Envelope::USER:
      read_payload(e.getUser());
      break;
    case schema::Envelope::RESPONSE:
      read_payload(e.getResponse());
      break;
    case schema::Envelope::BATCH:
      for (auto p : e.getBatch()) read_payload(p);
      break;
    case schema::Envelope::FAILURE: {
      auto f = e.getFailure();
      sink = sink + f.getCode() + f.getMessage().size();
      if (f.hasReason()) sink = sink + wire::read_exit_reason(f.getReason()).detail.size();
      break;
    }
    case schema::Envelope::SYSTEM: {
      auto s = e.getSystem();
      switch (s.which()) {
        case schema::System::STOP:
          sink = sink + wire::read_exit_reason(s.getStop()).detail.size();
          break;
        case schema::System::EXIT:
          sink = sink + wire::read_exit_reason(s.getExit()).detail.size();
          break;
        case schema::System::DOWN:
          sink = sink + s.getDown().getActor() + wire::read_exit_reason(s.getDown().getReason()).detail.size();
          break;
        default:
          break;
      }
      break;
    }
  }
  // Responses and parked frames are copied into an owned_frame.
  wire::owned_frame owned(frame, lim);
  read_payload(owned.payload());
}

void check(kj::ArrayPtr<const capnp::word> frame, const wire::limits& lim) {
  try {
    use(frame, lim);
  } catch (const wire::protocol_error&) {
    // the expected outcome for a malformed frame: the link would be closed
  }
}

// 1. One feed, frames checked as they come. A protocol_error from next() means
//    the stream is broken for good (the link is closed), so decoding stops.
void whole(const uint8_t* data, std::size_t size, const wire::limits& lim) {
  wire::frame_decoder in(lim);
  in.feed(data, size);
  try {
    while (auto frame = in.next()) check(*frame, lim);
  } catch (const wire::protocol_error&) {
  }
}

// 2. Small pieces while held; frames checked after every later feed.
void pieces(const uint8_t* data, std::size_t size, const wire::limits& lim) {
  constexpr std::size_t piece = 7;  // not a multiple of a word: headers and bodies split anywhere
  wire::frame_decoder in(lim);
  std::vector<kj::ArrayPtr<const capnp::word>> frames;
  in.hold();  // before any data: the held branch must cope with an empty buffer
  try {
    for (std::size_t at = 0; at < size; at += piece) {
      in.feed(data + at, std::min(piece, size - at));
      while (auto frame = in.next()) frames.push_back(*frame);
    }
  } catch (const wire::protocol_error&) {
  }
  for (auto frame : frames) check(frame, lim);
  in.release();
  // After release the decoder must still be usable (and give memory back).
  try {
    while (in.next()) {
    }
  } catch (const wire::protocol_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  wire::limits lim;  // the defaults the node and the workers use
  whole(data, size, lim);
  pieces(data, size, lim);
  return 0;
}
