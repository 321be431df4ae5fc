#pragma once
// Reading and building Envelopes (schemas/actorproc/envelope.capnp).
//
// envelope_reader is the single place where an untrusted frame becomes a typed
// Envelope: it checks the segment table, walks every pointer of the message
// once (so a bad pointer deep inside a user payload fails here, with a clear
// error, and never later inside a handler), and refuses envelope kinds it does
// not know. Everything after it may trust the frame.

#include <actorproc/base/error.hpp>
#include <actorproc/base/exit_reason.hpp>
#include <actorproc/envelope.capnp.h>
#include <actorproc/wire/limits.hpp>
#include <actorproc/wire/protocol_error.hpp>
#include <actorproc/wire/segment_arena.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <memory>

namespace actorproc::wire {

class envelope_reader {
 public:
  /// Throws protocol_error when the frame is not a valid Envelope.
  envelope_reader(kj::ArrayPtr<const capnp::word> frame, const limits& lim);
  envelope_reader(const envelope_reader&) = delete;
  envelope_reader& operator=(const envelope_reader&) = delete;

  schema::Envelope::Reader get() const { return root_; }

 private:
  capnp::FlatArrayMessageReader reader_;
  schema::Envelope::Reader root_;
};

/// Whether a frame not yet checked holds a system envelope, judged from its
/// root pointer and union tag alone (bounds-checked, no allocation, about as
/// cheap as reading a header). It lets the worker find a stop or a heartbeat
/// queued behind user frames without parsing them. False for anything it
/// cannot read this simply; the frame is checked properly in its turn.
bool is_system_frame(kj::ArrayPtr<const capnp::word> frame);

namespace detail {
/// A zeroed first segment per thread, lent to one envelope_builder at a time:
/// building a small message then allocates nothing (Cap'n Proto's builder
/// zeroes what it used when it is destroyed, so the segment is ready again).
struct scratch_segment {
  static constexpr std::size_t words = 256;
  capnp::word space[words];
  bool lent = false;
};
inline thread_local scratch_segment thread_scratch{};

inline kj::ArrayPtr<capnp::word> borrow_scratch(std::unique_ptr<capnp::word[]>& fallback) {
  if (!thread_scratch.lent) {
    thread_scratch.lent = true;
    return kj::arrayPtr(thread_scratch.space, scratch_segment::words);
  }
  // Nested builders on one thread (rare): a zeroed segment of their own.
  fallback.reset(new capnp::word[scratch_segment::words]());
  return kj::arrayPtr(fallback.get(), scratch_segment::words);
}
}  // namespace detail

/// Builds one envelope. Its first segment (2 KiB) is the thread's scratch
/// segment, so a small message is built without touching the allocator; a
/// large one reuses the thread's kept large segment (segment_arena.hpp).
class envelope_builder {
 public:
  envelope_builder() : message_(detail::borrow_scratch(own_segment_)) {}
  ~envelope_builder() {
    if (!own_segment_) detail::thread_scratch.lent = false;
  }
  envelope_builder(const envelope_builder&) = delete;
  envelope_builder& operator=(const envelope_builder&) = delete;
  schema::Envelope::Builder envelope() { return root_; }
  capnp::MessageBuilder& message() { return message_; }
  /// The message will take about `words` (segment_arena::expect).
  void expect_words(std::size_t words) { message_.expect(words); }

  void address(uint64_t to, uint64_t from, uint64_t correlation) {
    root_.setTo(to);
    root_.setFrom(from);
    root_.setCorrelation(correlation);
  }
  template <class T>
  typename T::Builder init_user() {
    auto payload = root_.initUser();
    payload.setTypeId(capnp::typeId<T>());
    return payload.getBody().template initAs<T>();
  }
  /// A failed answer (`correlation` must be the request's).
  schema::Failure::Builder init_failure(errc code, const std::string& message) {
    auto failure = root_.initFailure();
    failure.setCode(static_cast<uint16_t>(code));
    failure.setMessage(message);
    return failure;
  }
  template <class T>
  typename T::Builder init_response() {
    auto payload = root_.initResponse();
    payload.setTypeId(capnp::typeId<T>());
    return payload.getBody().template initAs<T>();
  }

 private:
  std::unique_ptr<capnp::word[]> own_segment_;  // declared first: outlives message_
  detail::segment_arena message_;
  schema::Envelope::Builder root_ = message_.initRoot<schema::Envelope>();
};

/// A reader over one frame, with `lim`'s options; throws protocol_error on a bad segment table.
capnp::FlatArrayMessageReader open_frame(kj::ArrayPtr<const capnp::word> frame, const limits& lim);

/// The checks of envelope_reader, on any message reader; throws protocol_error.
schema::Envelope::Reader validated_root(capnp::MessageReader& reader);

/// How many messages an envelope carries: a batch's length, otherwise 1.
inline std::size_t message_count(schema::Envelope::Reader envelope) {
  return envelope.isBatch() ? envelope.getBatch().size() : 1;
}

/// Conversions between the value type and its wire form.
void write_exit_reason(schema::ExitReason::Builder out, const exit_reason& reason);
exit_reason read_exit_reason(schema::ExitReason::Reader in);

}  // namespace actorproc::wire
