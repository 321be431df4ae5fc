// imap's and imap_unordered's stream of results (see pool_stream.hpp).
#include "pool_stream.hpp"

#include <algorithm>
#include <utility>

namespace actorproc::detail {

result_stream::result_stream(std::shared_ptr<pool_core> core, task_source source, std::size_t chunksize,
                             std::size_t window, bool ordered)
    : core_(std::move(core)),
      source_(std::move(source)),
      chunksize_(std::max<std::size_t>(1, chunksize)),
      window_(std::max<std::size_t>(1, window) * chunksize_),
      ordered_(ordered) {}

void result_stream::top_up() {
  auto in_flight = [&] { return ordered_ ? outstanding_.size() : completed_.remaining(); };
  while (!exhausted_ && in_flight() < window_) {
    std::vector<task_input> chunk;
    while (chunk.size() < chunksize_) {
      task_input t;
      try {
        t = source_();
      } catch (...) {
        // Given in its place by next(); like CPython, the chunk it broke is not run.
        input_error_ = std::current_exception();
        chunk.clear();
      }
      if (!t) {
        exhausted_ = true;
        break;
      }
      chunk.push_back(std::move(t));
    }
    if (chunk.empty()) break;
    for (auto& f : core_->submit(std::move(chunk))) {
      if (ordered_) {
        outstanding_.push_back(std::move(f));
      } else {
        completed_.add(std::move(f));
      }
    }
  }
}

expected<pool_value> result_stream::next(std::chrono::milliseconds timeout) {
  top_up();
  if (ordered_ ? outstanding_.empty() : completed_.remaining() == 0) {
    // The input's exception comes after every result read before it, once.
    if (input_error_) std::rethrow_exception(std::exchange(input_error_, nullptr));
    return error(errc::end_of_stream, "every result has been given");
  }
  if (!ordered_) {
    auto done = completed_.next(timeout);
    if (!done) return done.error();
    return done->get(timeout);  // resolved, its callbacks run: at once
  }
  if (!outstanding_.front().wait(timeout)) {
    return error(errc::timeout, "the next result was not ready within " + std::to_string(timeout.count()) + " ms");
  }
  auto r = outstanding_.front().get(timeout);
  outstanding_.pop_front();
  return r;
}

}  // namespace actorproc::detail
