#pragma once
// message<T>: a received Cap'n Proto message of schema type T that owns its bytes.
//
// Replies to requests arrive as message<T>. It holds the whole frame, so its
// reader stays valid as long as the message lives and may be moved across
// threads. Reading it costs no decoding: Cap'n Proto reads the bytes in place.

#include <actorproc/base/expected.hpp>
#include <actorproc/base/type_id_text.hpp>
#include <actorproc/base/unique_fd.hpp>
#include <actorproc/envelope.capnp.h>
#include <actorproc/wire/limits.hpp>

#include <capnp/serialize.h>
#include <kj/array.h>

#include <memory>
#include <vector>

namespace actorproc {
namespace wire {

/// A copy of one validated frame (see envelope_reader), with its reader.
class owned_frame {
 public:
  /// `frame` must already have passed envelope_reader's checks.
  owned_frame(kj::ArrayPtr<const capnp::word> frame, const limits& lim);
  /// Copies an unchecked frame and checks the copy as envelope_reader does
  /// (one parse instead of two); throws protocol_error.
  struct validate_t {};
  static constexpr validate_t validate{};
  owned_frame(kj::ArrayPtr<const capnp::word> frame, const limits& lim, validate_t);
  owned_frame(const owned_frame&) = delete;
  owned_frame& operator=(const owned_frame&) = delete;

  schema::Envelope::Reader envelope() const { return root_; }
  /// Descriptors that came with the frame (Envelope.fdCount of them), taken
  /// from the stream by the receiver; the frame owns them until taken.
  void attach_fds(std::vector<unique_fd> fds) { fds_ = std::move(fds); }
  std::vector<unique_fd> take_fds() { return std::move(fds_); }
  /// The user or response payload; an empty Payload for other kinds.
  schema::Payload::Reader payload() const;
  kj::ArrayPtr<const capnp::word> words() const { return words_; }

 private:
  kj::Array<capnp::word> words_;
  capnp::FlatArrayMessageReader reader_;
  schema::Envelope::Reader root_;
  std::vector<unique_fd> fds_;
};

using frame_ptr = std::unique_ptr<owned_frame>;

}  // namespace wire

namespace detail {
// Holds the frame before message<T>'s Reader base is built from it. Shared:
// the messages of one batch frame (a pipe's) keep that one frame alive.
struct frame_holder {
  std::shared_ptr<wire::owned_frame> frame;
};
}  // namespace detail

/// Reads as a T::Reader: `reply->getValue()` on an expected<message<T>>.
template <class T>
class message : private detail::frame_holder, public T::Reader {
 public:
  /// Fails with type_mismatch unless the frame's payload is a T.
  static expected<message> from(wire::frame_ptr frame) {
    auto payload = frame->payload();
    return from(std::shared_ptr<wire::owned_frame>(std::move(frame)), payload);
  }
  /// One message of a frame that carries several (a batch): `payload` is
  /// one of `frame`'s, which the message keeps alive.
  static expected<message> from(std::shared_ptr<wire::owned_frame> frame, schema::Payload::Reader payload) {
    auto type = payload.getTypeId();
    if (type != capnp::typeId<T>()) {
      return error(errc::type_mismatch,
                   "expected schema type " + type_id_text(capnp::typeId<T>()) + ", got " + type_id_text(type));
    }
    return message(std::move(frame), payload);
  }

  message(message&&) noexcept = default;
  message& operator=(message&&) noexcept = default;

  typename T::Reader get() const { return *this; }
  /// The descriptors that came with it (a reply_with_fds): a shared_buffer's,
  /// say. Taken once; those never taken are closed with the message (with
  /// the last message of a batch frame, whose messages share its descriptors).
  std::vector<unique_fd> take_fds() { return frame->take_fds(); }

 private:
  // The frame lives on the heap, so the Reader's pointers survive moves of the message.
  message(std::shared_ptr<wire::owned_frame> f, schema::Payload::Reader payload)
      : detail::frame_holder{std::move(f)}, T::Reader(payload.getBody().template getAs<T>()) {}
};

}  // namespace actorproc
