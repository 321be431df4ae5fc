// The pool's client side: futures for submitted tasks, and the calls that
// user threads make to the dispatcher actor (see pool_core.hpp).
#include "pool_core.hpp"

#include <actorproc/node/tsan_handoff.hpp>

#include "pool_protocol.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <thread>

namespace actorproc::detail {

namespace {

// The longest a call waits for the dispatcher's answer. The dispatcher answers
// at once unless a done-callback holds it; this bounds that wait.
constexpr std::chrono::milliseconds call_patience = std::chrono::minutes(1);

}  // namespace

expected<std::shared_ptr<pool_core>> pool_core::start(node& n, pool_options options) {
  if (options.processes == 0) options.processes = std::max(1u, std::thread::hardware_concurrency());
  if (options.window == 0) options.window = 2 * options.processes;
  std::vector<actor_handle> workers;
  for (std::size_t i = 0; i < options.processes; ++i) {
    auto h = n.spawn(options.worker_type, {.name = options.name + "/worker" + std::to_string(i + 1),
                                           .args = options.initargs});
    if (!h) {
      for (auto& w : workers) w.kill();
      for (auto& w : workers) (void)w.join(std::chrono::seconds(10));
      return h.error();
    }
    workers.push_back(*h);
  }
  auto core = std::make_shared<pool_core>(n, std::make_shared<pool_shared>(std::move(options)));
  core->dispatcher_ = std::make_unique<caf::actor>(spawn_pool_dispatcher(n, core->shared_, std::move(workers)));
  return core;
}

pool_core::pool_core(node& n, std::shared_ptr<pool_shared> shared) : node_(n), shared_(std::move(shared)) {}

pool_core::~pool_core() { quit(); }

void pool_core::quit() {
  if (dispatcher_) caf::anon_send_exit(*dispatcher_, caf::exit_reason::user_shutdown);
  dispatcher_.reset();
}

void pool_core::shut_down_with_node() {
  if (!joined()) {
    terminate();
    (void)join(std::chrono::seconds(10));
  }
  // The actor system is about to wait for every actor, and then to go: no
  // handle to the dispatcher may outlive it.
  quit();
}

template <class OnAnswer, class... Args>
bool pool_core::call(std::chrono::milliseconds patience, OnAnswer on_answer, Args... args) const {
  if (!dispatcher_) return false;  // the node has shut the pool down
  caf::scoped_actor self{node_.system()};
  bool failed = false;
  auto* sync = caf::actor_cast<caf::strong_actor_ptr>(*dispatcher_).get();
  handoff_release(sync);
  self->request(*dispatcher_, patience, std::move(args)...).receive(on_answer, [&](caf::error&) { failed = true; });
  handoff_acquire(sync);
  return !failed;
}

std::vector<task_future> pool_core::submit(std::vector<task_input> inputs) {
  auto c = std::make_shared<pool_chunk>();
  std::vector<task_future> futures;
  for (auto& input : inputs) {
    auto state = std::make_shared<future_state<pool_value>>();
    // Weak: the chunk holds this state, and must not be kept alive by it.
    state->cancel_work = [weak = weak_from_this(), queued = std::weak_ptr<pool_chunk>(c), raw = state.get()] {
      auto self = weak.lock();
      auto c = queued.lock();
      return self && c && self->cancel(c, raw);
    };
    c->tasks.push_back({std::move(input), state});
    futures.emplace_back(std::move(state));
  }
  // Once the node has shut the pool down, the chunk's destructor fails its tasks with pool_closed.
  if (!dispatcher_) return futures;
  std::size_t n = c->tasks.size();
  // The dispatcher's own thread (a done-callback) must not wait for room it
  // alone can make: it may exceed max_queued.
  if (shared_->on_dispatcher() || shared_->admitted.fetch_add(n) < shared_->options.max_queued) {
    if (shared_->on_dispatcher()) shared_->admitted += n;
    handoff_release(caf::actor_cast<caf::strong_actor_ptr>(*dispatcher_).get());
    caf::anon_send(*dispatcher_, pool_submission{std::move(c)});
    return futures;
  }
  shared_->admitted -= n;
  // The dispatcher answers once it has queued the chunk or refused it
  // (queue_full after submit_timeout): this wait is the backpressure.
  (void)call(shared_->options.submit_timeout + call_patience, [](bool) {}, pool_room_atom::value,
             pool_submission{std::move(c)});
  return futures;
}

bool pool_core::cancel(const std::shared_ptr<pool_chunk>& c, const void* which) {
  if (shared_->on_dispatcher()) return shared_->here->cancel(c, which);
  bool cancelled = false;
  (void)call(call_patience, [&](bool answer) { cancelled = answer; }, pool_cancel{c, which});
  return cancelled;
}

void pool_core::close(bool cancel_queued) {
  if (shared_->on_dispatcher()) return shared_->here->close(cancel_queued);
  (void)call(call_patience, [](bool) {}, pool_close_atom::value, cancel_queued);
}

void pool_core::terminate() {
  if (shared_->on_dispatcher()) return shared_->here->terminate();
  (void)call(call_patience, [](bool) {}, pool_terminate_atom::value);
}

expected<void> pool_core::join(std::chrono::milliseconds timeout) {
  if (shared_->on_dispatcher()) {
    return error(errc::invalid_argument, "join() from a done-callback would wait for the callback itself");
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<pool_leave> leave;
  if (!call(timeout, [&](pool_leave& answer) { leave = std::move(answer); }, pool_join_atom::value)) {
    return error(errc::timeout, "tasks still unresolved after " + std::to_string(timeout.count()) + " ms");
  }
  if (leave->refused) return *leave->refused;
  // Every task is resolved and the dispatcher sends nothing more: the workers are ours to stop.
  for (auto& h : leave->workers) h.stop(pool_stop_grace);
  for (auto& h : leave->workers) {
    auto left = std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                           deadline - std::chrono::steady_clock::now()));
    if (auto exited = h.join(left + 3 * pool_stop_grace); !exited) return exited.error();
  }
  joined_ = true;
  return {};
}

pool_stats pool_core::stats() const {
  if (shared_->on_dispatcher()) return shared_->here->stats();
  pool_stats out;
  (void)call(call_patience, [&](pool_stats& s) { out = s; }, pool_stats_atom::value);
  return out;
}

std::vector<actor_handle> pool_core::workers() const {
  if (shared_->on_dispatcher()) return shared_->here->workers();
  std::vector<actor_handle> out;
  (void)call(call_patience, [&](std::vector<actor_handle>& w) { out = std::move(w); }, pool_workers_atom::value);
  return out;
}

}  // namespace actorproc::detail
