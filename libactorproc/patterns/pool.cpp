// The pool's public API (patterns/pool.hpp): thin calls into its client side.
//
// The pool is three pieces, each in files of its own:
// - pool_dispatcher: the CAF actor that owns the pool's state, spawns and
//   replaces workers, sends chunks, decides retries and resolves futures;
// - pool_core: the client side, which user threads call; it reaches the
//   dispatcher with messages (and CAF's request/receive where it waits);
// - pool_worker: the actor, one per worker process, that runs the tasks;
// and pool_stream, imap's lazy stream of results.
#include <actorproc/patterns/pool.hpp>

#include "pool_core.hpp"
#include "pool_stream.hpp"

namespace actorproc {

namespace detail {

expected<pool_value> next_result(result_stream& stream, std::chrono::milliseconds timeout) {
  return stream.next(timeout);
}

}  // namespace detail

expected<pool> pool::start(node& n, pool_options options) {
  auto core = detail::pool_core::start(n, std::move(options));
  if (!core) {
    return error(core.error().code, "the pool's workers cannot start: " + core.error().message, core.error().reason);
  }
  // Destroying the node first must not leave the dispatcher talking to it.
  n.add_shutdown_hook([weak = std::weak_ptr<detail::pool_core>(*core)] {
    if (auto core = weak.lock()) core->shut_down_with_node();
  });
  return pool(std::move(*core));
}

pool::pool(std::shared_ptr<detail::pool_core> core) : core_(std::move(core)) {}
pool::pool(pool&&) noexcept = default;
pool& pool::operator=(pool&&) noexcept = default;

pool::~pool() {
  if (!core_ || core_->joined()) return;
  core_->terminate();
  (void)core_->join(std::chrono::seconds(10));
}

std::vector<detail::task_future> pool::submit_chunk(std::vector<detail::task_input> tasks) {
  return core_->submit(std::move(tasks));
}

void pool::append(std::vector<detail::task_future>& to, std::vector<detail::task_future> more) {
  for (auto& f : more) to.push_back(std::move(f));
}

std::shared_ptr<detail::result_stream> pool::make_stream(detail::task_source source, std::size_t chunksize,
                                                         bool ordered) {
  return std::make_shared<detail::result_stream>(core_, std::move(source), chunksize, core_->window(), ordered);
}

void pool::close() { core_->close(); }
expected<void> pool::shutdown(bool wait, bool cancel_futures) {
  core_->close(cancel_futures);
  if (!wait) return {};
  return core_->join(std::chrono::minutes(5));
}
void pool::terminate() { core_->terminate(); }
expected<void> pool::join(std::chrono::milliseconds timeout) { return core_->join(timeout); }
pool_stats pool::stats() const { return core_->stats(); }
std::vector<actor_handle> pool::workers() const { return core_->workers(); }

}  // namespace actorproc
