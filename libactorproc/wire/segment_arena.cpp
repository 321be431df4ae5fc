#include <actorproc/wire/segment_arena.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace actorproc::wire::detail {
namespace {

// The one segment a thread keeps between messages, zeroed while it waits.
struct kept_segment {
  segment_arena::words_ptr words;
  std::size_t size = 0;
};
thread_local kept_segment kept;

constexpr std::size_t word_bytes = sizeof(capnp::word);

}  // namespace

kj::ArrayPtr<capnp::word> segment_arena::allocateSegment(unsigned minimum_words) {
  if (!first_given_ && first_.size() >= minimum_words) {
    first_given_ = true;
    return first_;
  }
  first_given_ = true;
  std::size_t words = std::max<std::size_t>(minimum_words, next_words_);
  next_words_ = std::min<std::size_t>(next_words_ + words, std::size_t{1} << 29);
  segment seg;
  if (words * word_bytes >= keep_min_bytes && kept.words && kept.size >= words) {
    seg.words = std::move(kept.words);  // zeroed when it was put back
    seg.size = std::exchange(kept.size, 0);
  } else {
    // calloc, not new[](): a large block comes zeroed from the kernel, untouched.
    seg.words.reset(static_cast<capnp::word*>(std::calloc(words, word_bytes)));
    if (!seg.words) throw std::bad_alloc();
    seg.size = words;
  }
  auto lent = kj::arrayPtr(seg.words.get(), seg.size);
  owned_.push_back(std::move(seg));
  return lent;
}

segment_arena::~segment_arena() noexcept(false) {
  // What the message used of each segment, in the arena's order: the first
  // segment (if it was given), then ours.
  auto used = getSegmentsForOutput();
  std::size_t at = 0;
  if (first_given_ && used.size() > 0 && used[0].begin() == first_.begin()) {
    std::memset(first_.begin(), 0, used[0].size() * word_bytes);
    at = 1;
  }
  for (auto& seg : owned_) {
    std::size_t bytes = seg.size * word_bytes;
    if (bytes < keep_min_bytes || bytes > keep_max_bytes || seg.size <= kept.size) continue;
    // Keep the largest: zero what this message wrote (the rest was never touched).
    for (std::size_t i = at; i < used.size(); ++i) {
      if (used[i].begin() == seg.words.get()) std::memset(seg.words.get(), 0, used[i].size() * word_bytes);
    }
    kept.words = std::move(seg.words);
    kept.size = seg.size;
  }
}

}  // namespace actorproc::wire::detail
