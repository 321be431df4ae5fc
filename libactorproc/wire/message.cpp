#include <actorproc/wire/message.hpp>

#include <actorproc/wire/envelope.hpp>

#include <cstring>

namespace actorproc::wire {
namespace {

kj::Array<capnp::word> copy_words(kj::ArrayPtr<const capnp::word> frame) {
  auto words = kj::heapArray<capnp::word>(frame.size());
  std::memcpy(words.begin(), frame.begin(), frame.size() * sizeof(capnp::word));  // word is not copyable under clang
  return words;
}

}  // namespace

owned_frame::owned_frame(kj::ArrayPtr<const capnp::word> frame, const limits& lim)
    : words_(copy_words(frame)),
      reader_(words_.asPtr(), lim.reader_options(frame.size() * sizeof(capnp::word))),
      root_(reader_.getRoot<schema::Envelope>()) {}

owned_frame::owned_frame(kj::ArrayPtr<const capnp::word> frame, const limits& lim, validate_t)
    : words_(copy_words(frame)), reader_(open_frame(words_.asPtr(), lim)), root_(validated_root(reader_)) {}

schema::Payload::Reader owned_frame::payload() const {
  switch (root_.which()) {
    case schema::Envelope::USER:
      return root_.getUser();
    case schema::Envelope::RESPONSE:
      return root_.getResponse();
    default:
      return {};
  }
}

}  // namespace actorproc::wire
