#include <actorproc/wire/payload_scratch.hpp>

namespace actorproc::wire {

payload_scratch& payload_scratch::of_this_thread() {
  thread_local payload_scratch scratch;
  return scratch;
}

payload_scratch::~payload_scratch() {
  extra_.clear();  // orphans go before their message
  list_ = {};
}

schema::Payload::Builder payload_scratch::take() {
  if (leases_ == 0) {
    // Between sends: rebuilt when its slots ran out, or when extra lists or a
    // large body made it grow (what they took goes back).
    if (used_ == slots || !extra_.empty() || message_->sizeInWords() > first_segment_words) renew();
  } else if (used_ == slots) {
    // Every slot of the current list is leased or was sent: a new list, in
    // the same message, so the builders of the leases out stay valid.
    extra_.push_back(message_->getOrphanage().newOrphan<capnp::List<schema::Payload>>(slots));
    list_ = extra_.back().get();
    used_ = 0;
  }
  ++leases_;
  return list_[used_++];
}

void payload_scratch::renew() {
  extra_.clear();
  list_ = {};
  // The arena zeroes the words the message used of the first segment, and
  // frees the segments it added for large bodies.
  message_.reset();
  if (!first_segment_) first_segment_.reset(new capnp::word[first_segment_words]());
  message_.emplace(kj::arrayPtr(first_segment_.get(), first_segment_words));
  list_ = message_->initRoot<capnp::List<schema::Payload>>(slots);
  used_ = 0;
}

}  // namespace actorproc::wire
