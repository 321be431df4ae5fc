#include <actorproc/wire/batch_builder.hpp>

#include <algorithm>
#include <bit>

namespace actorproc::wire {

void batch_builder::open(uint64_t to, uint64_t from, std::size_t max_bytes) {
  if (!first_segment_) first_segment_.reset(new capnp::word[first_segment_words]());
  message_.emplace(kj::arrayPtr(first_segment_.get(), first_segment_words));
  auto root = message_->initRoot<schema::Envelope>();
  root.setTo(to);
  root.setFrom(from);
  capacity_ = static_cast<unsigned>(std::clamp<std::size_t>(max_bytes / slot_bytes, 1, next_capacity_));
  list_ = root.initBatch(capacity_);
  to_ = to;
  from_ = from;
}

void batch_builder::drop(unsigned index, bool compact) {
  if (!compact) {
    // In place: later messages move down one slot; builders of earlier ones stay valid.
    for (unsigned i = index; i + 1 < count_; ++i) {
      list_[i].setTypeId(list_[i + 1].getTypeId());
      list_[i].getBody().adopt(list_[i + 1].getBody().disown());
    }
    --count_;
    list_[count_].setTypeId(0);
    list_[count_].getBody().clear();  // zeroes what the message had built
    if (count_ == 0) message_.reset();
    return;
  }
  // The dropped message's words stay allocated in this message (Cap'n Proto
  // cannot give them back), so the others are copied into a fresh one: a
  // frame never carries the space of a dropped message, however large.
  capnp::MallocMessageBuilder kept;
  auto copy = kept.initRoot<capnp::List<schema::Payload>>(count_ - 1);
  for (unsigned from = 0, to = 0; from < count_; ++from) {
    if (from == index) continue;
    copy[to].setTypeId(list_[from].getTypeId());
    copy[to].getBody().set(list_[from].getBody().asReader());
    ++to;
  }
  unsigned remaining = count_ - 1;
  unsigned capacity = capacity_;
  message_.reset();  // zeroes the first segment for the next message
  count_ = 0;
  capacity_ = 0;
  list_ = {};
  if (remaining == 0) return;
  next_capacity_ = capacity;
  open(to_, from_);
  for (auto payload : copy.asReader()) {
    list_[count_].setTypeId(payload.getTypeId());
    list_[count_].getBody().set(payload.getBody());
    ++count_;
  }
}

std::size_t batch_builder::size_bytes() const {
  if (!message_) return 0;
  // The list's unused slots are allocated but will be trimmed: they do not count.
  return message_->sizeInWords() * sizeof(capnp::word) - (capacity_ - count_) * slot_bytes;
}

std::size_t batch_builder::reserved_bytes() const {
  if (!message_) return 0;
  // Its segment table: the first segment's count and size, and one size per further segment.
  std::size_t segments = message_->getSegmentsForOutput().size();
  // A batch of one closes as a plain user envelope, whose payload is allocated anew.
  std::size_t anew = count_ == 1 ? slot_bytes : 0;
  return message_->sizeInWords() * sizeof(capnp::word) + (4 * (segments + 1) + 7) / 8 * 8 + anew;
}

void batch_builder::close_into(frame_writer& out) {
  if (count_ == 0) return;
  auto root = message_->getRoot<schema::Envelope>();
  if (count_ == 1) {
    // A plain user envelope, as an unbatched send makes.
    auto list = root.disownBatch();
    auto only = list.get()[0];
    auto user = root.initUser();
    user.setTypeId(only.getTypeId());
    user.getBody().adopt(only.getBody().disown());
  } else if (count_ < capacity_) {
    auto list = root.disownBatch();
    list.truncate(count_);
    root.adoptBatch(kj::mv(list));
  }
  // The next list's length. A batch that reached the size limit gets exactly
  // its length (messages of a burst tend to be alike, so the next one fills
  // it with no slot to trim). A burst that filled this list gets a longer one.
  // A short batch gets a shorter one.
  if (size_bytes() >= close_at_bytes) {
    next_capacity_ = std::max(count_, min_capacity);
  } else if (count_ == capacity_) {
    next_capacity_ = std::min(2 * capacity_, max_capacity);
  } else {
    next_capacity_ = std::clamp(std::bit_ceil(2 * count_), min_capacity, max_capacity);
  }
  out.append(*message_);
  count_ = 0;
  capacity_ = 0;
  list_ = {};
  message_.reset();
}

}  // namespace actorproc::wire
