#pragma once
// buffer_pool: shared buffers prepared ahead of time, so that handing over a
// large payload does not wait for its pages to be allocated.
//
// Allocating and faulting in 64 MiB of pages takes longer than passing them to
// another process. A sealed buffer is never written again (shared_buffer.hpp),
// so a pool cannot recycle buffers: it prepares fresh ones when its owner has
// time (reserve(), e.g. at start or between two payloads) and hands them out
// in acquire(). Buffers are matched by exact size; acquire() makes a new one
// when none of that size is ready. Single-threaded, like the worker that owns it.

#include <actorproc/wire/shared_buffer.hpp>

#include <cstddef>
#include <vector>

namespace actorproc {

class buffer_pool {
 public:
  /// The pool never holds more than `capacity` prepared buffers.
  explicit buffer_pool(std::size_t capacity = 2) : capacity_(capacity) {}

  /// Prepares buffers of `bytes` until `count` of that size are ready (at most
  /// the capacity in all).
  expected<void> reserve(std::size_t count, std::size_t bytes);
  /// A prepared buffer of `bytes`, or a new one if none is ready; writable.
  expected<shared_buffer> acquire(std::size_t bytes);
  /// Prepared buffers waiting.
  std::size_t ready() const { return ready_.size(); }

 private:
  std::size_t capacity_;
  std::vector<shared_buffer> ready_;
};

}  // namespace actorproc
