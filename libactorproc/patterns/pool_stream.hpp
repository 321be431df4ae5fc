#pragma once
// result_stream: what imap and imap_unordered iterate. It reads the input
// lazily, keeps at most `window` chunks submitted ahead of the results
// consumed, and gives the outcomes in input order or in completion order.
// Not installed: pool_iterator holds it by shared_ptr to an incomplete type.

#include "pool_core.hpp"

#include <actorproc/patterns/pool.hpp>

#include <deque>
#include <exception>
#include <memory>

namespace actorproc::detail {

class result_stream {
 public:
  result_stream(std::shared_ptr<pool_core> core, task_source source, std::size_t chunksize, std::size_t window,
                bool ordered);
  /// The next outcome (in input order, or in completion order). Rethrows what
  /// the input threw once every result before it has been given (Python's
  /// imap raises the iterable's exception at its position, not ahead of
  /// results that are ready).
  expected<pool_value> next(std::chrono::milliseconds timeout);

 private:
  void top_up();
  std::shared_ptr<pool_core> core_;
  task_source source_;
  std::size_t chunksize_;
  std::size_t window_;
  bool ordered_;
  bool exhausted_ = false;
  std::exception_ptr input_error_;  // what the input threw; it ends the input
  std::deque<task_future> outstanding_;  // imap: submitted, not yet given, in input order
  completion_order<pool_value> completed_;  // imap_unordered: the same, given as they resolve
};

}  // namespace actorproc::detail
