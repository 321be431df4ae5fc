#pragma once
// segment_arena: the MessageBuilder of envelope_builder. It builds a message
// in segments it can give back zeroed, so that a thread that builds large
// messages does not fault in fresh pages for every one.
//
// Why: Cap'n Proto's MallocMessageBuilder callocs each segment and frees it
// with the message. A 64 MiB Data field thus lands in 64 MiB of pages never
// touched before, and filling it faults once per page. On a VM that is the
// dominant cost of sending it: measured here, about 4 ms per MiB, longer than
// the copies and the socket together (bench/payload_bench.cpp).
//
// The arena keeps, per thread, the largest segment it allocated (at least
// keep_min_bytes and at most keep_max_bytes), zeroes the part a message used
// when the message is done (zeroing resident memory is some 20 times cheaper
// than faulting it in), and lends it to the next message that needs that much.
// Memory cost: a thread that built a large message keeps one such segment
// until it exits. Segments below keep_min_bytes come and go as usual, and the
// first segment is the caller's (envelope_builder lends the thread's 2 KiB
// scratch), zeroed again on destruction as MallocMessageBuilder does.

#include <capnp/message.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <vector>

namespace actorproc::wire::detail {

class segment_arena final : public capnp::MessageBuilder {
 public:
  static constexpr std::size_t keep_min_bytes = std::size_t{1} << 20;
  static constexpr std::size_t keep_max_bytes = (std::size_t{64} << 20) + (std::size_t{1} << 20);

  /// `first` must be zeroed; it is zeroed again when the arena is destroyed.
  explicit segment_arena(kj::ArrayPtr<capnp::word> first) : first_(first) {}
  ~segment_arena() noexcept(false) override;
  segment_arena(const segment_arena&) = delete;
  segment_arena& operator=(const segment_arena&) = delete;

  kj::ArrayPtr<capnp::word> allocateSegment(unsigned minimum_words) override;
  /// The message will take about `words`: the next segment allocated is at
  /// least that large, so that what follows lands beside it, not behind far
  /// pointers (each costs its reader a segment lookup under a lock).
  void expect(std::size_t words) { next_words_ = std::max(next_words_, words); }

  struct free_words {
    void operator()(capnp::word* p) const { std::free(p); }
  };
  using words_ptr = std::unique_ptr<capnp::word[], free_words>;

 private:
  struct segment {
    words_ptr words;
    std::size_t size = 0;
  };
  kj::ArrayPtr<capnp::word> first_;
  bool first_given_ = false;
  std::size_t next_words_ = 1024;  // the growth of MallocMessageBuilder's heuristic
  std::vector<segment> owned_;     // in allocation order (the message's segment order after the first)
};

}  // namespace actorproc::wire::detail
