#pragma once
// Reading and building Envelopes (schemas/actorproc/envelope.capnp).
//
// envelope_reader is the single place where an untrusted frame becomes a typed
// Envelope: it checks the segment table, walks every pointer of the message
// once (so a bad pointer deep inside a user payload fails here, with a clear
// error, and never later inside a handler), and refuses envelope kinds it does
// not know. Everything after it may trust the frame.

#include <actorproc/base/exit_reason.hpp>
#include <actorproc/envelope.capnp.h>
#include <actorproc/wire/limits.hpp>
#include <actorproc/wire/protocol_error.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

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

/// Builds one envelope. The first segment (512 bytes) holds a typical small
/// message, so most sends allocate once.
class envelope_builder {
 public:
  envelope_builder() : message_(64) {}
  schema::Envelope::Builder envelope() { return root_; }
  capnp::MessageBuilder& message() { return message_; }

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
  template <class T>
  typename T::Builder init_response() {
    auto payload = root_.initResponse();
    payload.setTypeId(capnp::typeId<T>());
    return payload.getBody().template initAs<T>();
  }

 private:
  capnp::MallocMessageBuilder message_;
  schema::Envelope::Builder root_ = message_.initRoot<schema::Envelope>();
};

/// Conversions between the value type and its wire form.
void write_exit_reason(schema::ExitReason::Builder out, const exit_reason& reason);
exit_reason read_exit_reason(schema::ExitReason::Reader in);

}  // namespace actorproc::wire
