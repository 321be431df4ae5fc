// The pool: a dispatcher thread in the node, and its worker actors.
//
// Threads: callers submit under `mutex_`; the reactor thread turns answers and
// worker exits into events (never blocking); the dispatcher thread alone spawns
// workers, sends chunks and resolves futures, with the mutex released, so a
// done-callback may submit more work.
#include <actorproc/patterns/pool.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

namespace actorproc {

// ---------------------------------------------------------------- the worker

pool_worker::pool_worker(context& ctx, const std::shared_ptr<const pool_functions>& functions) : functions_(functions) {
  if (functions_->initializer()) functions_->initializer()(ctx.args());
}

void pool_worker::on(schema::PoolRun::Reader run, context& ctx) {
  ctx.reply<schema::PoolDone>([&](schema::PoolDone::Builder done) {
    auto tasks = run.getTasks();
    auto outcomes = done.initOutcomes(tasks.size());
    for (uint32_t i = 0; i < tasks.size(); ++i) {
      auto out = outcomes[i];
      auto fail = [&](errc code, const std::string& why) {
        out.getValue().clear();
        out.setFailed(true);
        out.setCode(static_cast<uint16_t>(code));
        out.setMessage(why);
      };
      const auto* fn = functions_->find(tasks[i].getTaskType());
      if (fn == nullptr) {
        char text[96];
        std::snprintf(text, sizeof text, "no function of this pool takes tasks of type 0x%016llx",
                      static_cast<unsigned long long>(tasks[i].getTaskType()));
        fail(errc::unhandled_message, text);
        continue;
      }
      out.setResultType(fn->result_type);
      // A task's exception is that task's outcome, not the worker's death
      // (Python's rule): the worker carries on with the next task.
      try {
        fn->run(tasks[i].getInput(), out.getValue());
      } catch (const std::exception& e) {
        fail(errc::handler_exception, e.what());
      } catch (...) {
        fail(errc::handler_exception, "the task threw a non-standard exception");
      }
    }
  });
}

// ---------------------------------------------------------------- the dispatcher

namespace detail {
namespace {

struct task {
  task_input input;
  std::shared_ptr<future_state<pool_value>> result;
};

struct chunk {
  std::vector<task> tasks;
  unsigned attempts = 0;  // runs that ended with the worker's death
};

struct worker_slot {
  actor_handle handle;
  std::shared_ptr<chunk> running;
  std::size_t tasks_done = 0;
};

/// What the reactor thread tells the dispatcher: a worker's answer to its chunk, or its exit.
struct event {
  uint64_t worker = 0;
  std::optional<expected<message<schema::PoolDone>>> answer;  // set: an answer
  exit_reason reason = {};                                    // otherwise: the exit
};

enum class pool_state { running, closed, terminated, broken };

using resolution = std::pair<std::shared_ptr<future_state<pool_value>>, expected<pool_value>>;

}  // namespace

class pool_core : public std::enable_shared_from_this<pool_core> {
 public:
  pool_core(node& n, pool_options options) : node_(n), options_(std::move(options)) {
    if (options_.processes == 0) options_.processes = std::max(1u, std::thread::hardware_concurrency());
    if (options_.window == 0) options_.window = 2 * options_.processes;
    stats_.processes = options_.processes;
  }

  /// Starts the workers, then the dispatcher thread.
  expected<void> start() {
    for (std::size_t i = 0; i < options_.processes; ++i) {
      auto started = spawn_worker();
      if (!started) return started.error();
    }
    dispatcher_ = std::thread([self = shared_from_this()] { self->run(); });
    dispatcher_id_ = dispatcher_.get_id();
    return {};
  }

  std::vector<task_future> submit(std::vector<task_input> inputs) {
    auto c = std::make_shared<chunk>();
    std::vector<task_future> futures;
    for (auto& input : inputs) {
      auto state = std::make_shared<future_state<pool_value>>();
      // Weak: the chunk holds this state, and must not be kept alive by it.
      state->cancel_work = [weak = weak_from_this(), queued = std::weak_ptr<chunk>(c), raw = state.get()] {
        auto self = weak.lock();
        auto c = queued.lock();
        return self && c && self->cancel(c, raw);
      };
      c->tasks.push_back({std::move(input), state});
      futures.emplace_back(std::move(state));
    }
    std::unique_lock lock(mutex_);
    // The dispatcher thread (a done-callback) must not wait for room it alone
    // can make: it may exceed max_queued.
    bool on_dispatcher = std::this_thread::get_id() == dispatcher_id_;
    if (!on_dispatcher) {
      room_.wait_for(lock, options_.submit_timeout,
                     [&] { return queued_tasks_ < options_.max_queued || state_ != pool_state::running; });
    }
    std::optional<error> refused;
    if (state_ == pool_state::broken) {
      refused = broken_error_;
    } else if (state_ != pool_state::running) {
      refused = error(errc::pool_closed, "the pool '" + options_.name + "' is closed");
    } else if (queued_tasks_ >= options_.max_queued && !on_dispatcher) {
      refused = error(errc::queue_full,
                      "the pool's queue stayed full for " + std::to_string(options_.submit_timeout.count()) + " ms");
    }
    if (refused) {
      lock.unlock();
      for (auto& t : c->tasks) t.result->resolve(*refused);
      return futures;
    }
    queued_tasks_ += c->tasks.size();
    unresolved_ += c->tasks.size();
    queued_.push_back(std::move(c));
    lock.unlock();
    wake_.notify_one();
    return futures;
  }

  /// No more tasks; with `cancel_queued`, the queued ones fail with cancelled
  /// (ProcessPoolExecutor.shutdown(cancel_futures=True)); running ones finish.
  void close(bool cancel_queued = false) {
    std::vector<resolution> cancelled;
    {
      std::lock_guard lock(mutex_);
      if (state_ == pool_state::running) state_ = pool_state::closed;
      if (cancel_queued && state_ == pool_state::closed) {
        for (auto& c : queued_) settle_locked(*c, error(errc::cancelled, "cancelled by shutdown()"), cancelled);
        queued_.clear();
        queued_tasks_ = 0;
      }
    }
    room_.notify_all();
    wake_.notify_one();
    resolve(cancelled);
  }

  void terminate() {
    std::vector<resolution> cancelled;
    std::vector<actor_handle> doomed;
    {
      std::lock_guard lock(mutex_);
      if (state_ == pool_state::terminated) return;
      state_ = pool_state::terminated;
      for (auto& c : queued_) settle_locked(*c, error(errc::cancelled, "the pool was terminated"), cancelled);
      queued_.clear();
      queued_tasks_ = 0;
      for (auto& w : workers_) doomed.push_back(w.handle);
      for (auto& w : retired_) doomed.push_back(w);
    }
    room_.notify_all();
    wake_.notify_one();
    resolve(cancelled);
    // Running chunks fail through their answers (actor_down), as cancelled.
    for (auto& h : doomed) h.kill();
  }

  expected<void> join(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    if (state_ == pool_state::running) {
      return error(errc::invalid_argument, "join() before close() or terminate()");
    }
    if (!idle_.wait_until(lock, deadline, [&] { return unresolved_ == 0; })) {
      return error(errc::timeout, std::to_string(unresolved_) + " tasks still unresolved");
    }
    quitting_ = true;
    lock.unlock();
    wake_.notify_one();
    if (dispatcher_.joinable() && std::this_thread::get_id() != dispatcher_id_) dispatcher_.join();
    // The dispatcher has stopped: the workers are ours alone now.
    std::vector<actor_handle> leaving = retired_;
    for (auto& w : workers_) leaving.push_back(w.handle);
    for (auto& h : leaving) h.stop(grace);
    for (auto& h : leaving) {
      auto left = h.join(std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                    deadline - std::chrono::steady_clock::now())) +
                         3 * grace);
      if (!left) return left.error();
    }
    lock.lock();
    workers_.clear();
    retired_.clear();
    return {};
  }

  /// A worker's answer or exit, from the reactor thread. Never blocks.
  void post(event e) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(e));
    }
    wake_.notify_one();
  }

  pool_stats stats() const {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.workers = workers_.size();
    s.queued = queued_tasks_;
    s.running = 0;
    for (auto& w : workers_) s.running += w.running ? w.running->tasks.size() : 0;
    return s;
  }

  std::vector<actor_handle> workers() const {
    std::lock_guard lock(mutex_);
    std::vector<actor_handle> out;
    for (auto& w : workers_) out.push_back(w.handle);
    return out;
  }

  std::size_t window() const { return options_.window; }

  bool joined() const {
    std::lock_guard lock(mutex_);
    return quitting_;
  }

 private:
  static constexpr std::chrono::milliseconds grace{2000};
  static constexpr unsigned failed_starts_before_broken = 3;

  bool cancel(const std::shared_ptr<chunk>& c, const future_state<pool_value>* which) {
    std::lock_guard lock(mutex_);
    auto queued = std::find(queued_.begin(), queued_.end(), c);
    if (queued == queued_.end()) return false;  // running or finished: too late
    auto it = std::find_if(c->tasks.begin(), c->tasks.end(), [&](const task& t) { return t.result.get() == which; });
    if (it == c->tasks.end()) return false;
    c->tasks.erase(it);
    if (c->tasks.empty()) queued_.erase(queued);
    --queued_tasks_;
    ++stats_.failed;
    if (--unresolved_ == 0) idle_.notify_all();
    room_.notify_one();
    return true;
  }

  // Every task of `c` resolves with `outcome` (or its own result when `answer`
  // is given), collected to be resolved once the lock is released.
  void settle_locked(chunk& c, const expected<pool_value>& outcome, std::vector<resolution>& out) {
    for (auto& t : c.tasks) out.emplace_back(t.result, outcome);
    count_resolved_locked(c.tasks.size(), outcome.has_value());
  }
  void count_resolved_locked(std::size_t n, bool ok) { (ok ? stats_.completed : stats_.failed) += n; }

  // Resolves outside the lock, then counts them: join() returns only once every
  // future is resolved and its done-callbacks have run (a get() after join()
  // answers at once, as after CPython's join).
  void resolve(std::vector<resolution>& done) {
    if (done.empty()) return;
    for (auto& [state, outcome] : done) state->resolve(std::move(outcome));
    {
      std::lock_guard lock(mutex_);
      unresolved_ -= done.size();
      if (unresolved_ == 0) idle_.notify_all();
    }
    done.clear();
  }

  expected<void> spawn_worker() {
    auto h = node_.spawn(options_.worker_type, {.name = options_.name + "/worker" + std::to_string(++workers_named_),
                                                .args = options_.initargs});
    if (!h) return h.error();
    {
      std::lock_guard lock(mutex_);
      workers_.push_back({*h, nullptr, 0});
      ++stats_.workers_started;
    }
    // After the slot exists: an exit is reported at once if it already happened.
    h->monitor([weak = weak_from_this()](actor_ref who, const exit_reason& why) {
      if (auto self = weak.lock()) self->post({.worker = who.id, .answer = std::nullopt, .reason = why});
    });
    return {};
  }

  // The dispatcher thread.
  void run() {
    std::vector<resolution> done;
    std::vector<std::pair<actor_handle, std::shared_ptr<chunk>>> sends;
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return quitting_ || !events_.empty() || dispatchable_locked() || missing_locked() > 0; });
      if (quitting_) break;
      auto events = std::move(events_);
      events_.clear();
      for (auto& e : events) handle_locked(e, done);
      std::size_t missing = missing_locked();
      assign_locked(sends);
      lock.unlock();
      resolve(done);
      for (auto& [h, c] : sends) send(h, c);
      sends.clear();
      for (std::size_t i = 0; i < missing; ++i) replace_worker();
      lock.lock();
    }
  }

  bool dispatchable_locked() const {
    if (queued_.empty()) return false;
    return std::any_of(workers_.begin(), workers_.end(), [](const worker_slot& w) { return !w.running; });
  }

  // Workers to start: a full complement while the pool takes or has work.
  std::size_t missing_locked() const {
    bool wanted = state_ == pool_state::running || (state_ == pool_state::closed && !queued_.empty());
    return wanted && workers_.size() < options_.processes ? options_.processes - workers_.size() : 0;
  }

  void assign_locked(std::vector<std::pair<actor_handle, std::shared_ptr<chunk>>>& sends) {
    for (auto& w : workers_) {
      if (queued_.empty()) return;
      if (w.running) continue;
      w.running = std::move(queued_.front());
      queued_.pop_front();
      queued_tasks_ -= w.running->tasks.size();
      sends.emplace_back(w.handle, w.running);
    }
    room_.notify_all();
  }

  void send(const actor_handle& h, const std::shared_ptr<chunk>& c) {
    auto fill = [&](schema::PoolRun::Builder run) {
      auto tasks = run.initTasks(static_cast<unsigned>(c->tasks.size()));
      for (unsigned i = 0; i < c->tasks.size(); ++i)
        tasks.setWithCaveats(i, c->tasks[i].input->getRoot<schema::PoolTask>());
    };
    h.request_async<schema::PoolRun, schema::PoolDone>(
        fill, [weak = weak_from_this(), worker = h.id()](expected<message<schema::PoolDone>> answer) {
          if (auto self = weak.lock()) self->post({.worker = worker, .answer = std::move(answer), .reason = {}});
        });
  }

  void replace_worker() {
    auto started = spawn_worker();
    std::vector<resolution> failed;
    {
      std::lock_guard lock(mutex_);
      if (started) {
        failed_starts_ = 0;
        return;
      }
      if (++failed_starts_ < failed_starts_before_broken) return;
      // Workers cannot start: fail everything rather than respawn forever.
      state_ = pool_state::broken;
      broken_error_ =
          error(errc::broken, "the pool '" + options_.name + "' cannot start workers: " + to_string(started.error()),
                started.error().reason);
      for (auto& c : queued_) settle_locked(*c, broken_error_, failed);
      queued_.clear();
      queued_tasks_ = 0;
    }
    room_.notify_all();
    resolve(failed);
  }

  void handle_locked(event& e, std::vector<resolution>& done) {
    auto slot =
        std::find_if(workers_.begin(), workers_.end(), [&](const worker_slot& w) { return w.handle.id() == e.worker; });
    if (!e.answer) {
      // An exit. A worker that dies running a chunk has had its answer (actor_down) first.
      if (slot == workers_.end()) return;  // retired, or already counted
      if (slot->running) fail_chunk_locked(slot->running, error(errc::actor_down, "the worker exited", e.reason), done);
      workers_.erase(slot);
      ++stats_.workers_lost;
      return;
    }
    if (slot == workers_.end() || !slot->running) return;
    auto c = std::move(slot->running);
    auto& answer = *e.answer;
    if (!answer) {
      if (answer.error().code == errc::too_large) {
        // The worker is well; its results could not fit in one frame, and
        // would not on a retry either.
        settle_locked(*c, answer.error(), done);
        return;
      }
      // The worker died (or failed the whole chunk): replace it, and retry.
      slot->handle.kill();
      workers_.erase(slot);
      ++stats_.workers_lost;
      fail_chunk_locked(c, answer.error(), done);
      return;
    }
    auto shared = std::make_shared<const message<schema::PoolDone>>(std::move(*answer));
    auto outcomes = shared->getOutcomes();
    if (outcomes.size() != c->tasks.size()) {
      settle_locked(*c, error(errc::protocol_error, "the worker answered a different number of tasks"), done);
    } else {
      for (uint32_t i = 0; i < outcomes.size(); ++i) {
        auto o = outcomes[i];
        if (o.getFailed()) {
          done.emplace_back(c->tasks[i].result, error(static_cast<errc>(o.getCode()), o.getMessage()));
          count_resolved_locked(1, false);
        } else {
          done.emplace_back(c->tasks[i].result, pool_value{shared, o});
          count_resolved_locked(1, true);
        }
      }
    }
    slot->tasks_done += c->tasks.size();
    if (options_.maxtasksperchild > 0 && slot->tasks_done >= options_.maxtasksperchild) {
      slot->handle.stop(grace);
      retired_.push_back(slot->handle);
      workers_.erase(slot);
    }
  }

  // The chunk's worker is gone: run it again, or fail it for good.
  void fail_chunk_locked(const std::shared_ptr<chunk>& c, const error& why, std::vector<resolution>& done) {
    if (state_ == pool_state::terminated) {
      return settle_locked(*c, error(errc::cancelled, "the pool was terminated"), done);
    }
    if (state_ == pool_state::broken) return settle_locked(*c, broken_error_, done);
    if (++c->attempts > options_.max_retries) {
      error final = why;
      final.message = "the task's worker died " + std::to_string(c->attempts) + " times; the last: " + why.message;
      return settle_locked(*c, final, done);
    }
    stats_.retried += c->tasks.size();
    queued_tasks_ += c->tasks.size();
    queued_.push_front(c);  // first in line: it has waited longest
  }

  node& node_;
  pool_options options_;
  std::thread dispatcher_;
  // Its id, read by submitters without touching the thread object that join() changes.
  std::thread::id dispatcher_id_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // the dispatcher: events, work, quitting
  std::condition_variable room_;  // submitters: room in the queue
  std::condition_variable idle_;  // joiners: every task resolved
  pool_state state_ = pool_state::running;
  error broken_error_;
  bool quitting_ = false;
  std::deque<std::shared_ptr<chunk>> queued_;
  std::size_t queued_tasks_ = 0;
  std::size_t unresolved_ = 0;
  std::vector<worker_slot> workers_;
  std::vector<actor_handle> retired_;
  std::vector<event> events_;
  unsigned failed_starts_ = 0;
  std::size_t workers_named_ = 0;
  pool_stats stats_;
};

// ---------------------------------------------------------------- imap's stream

result_stream::result_stream(std::shared_ptr<pool_core> core, task_source source, std::size_t chunksize,
                             std::size_t window, bool ordered)
    : core_(std::move(core)),
      source_(std::move(source)),
      chunksize_(std::max<std::size_t>(1, chunksize)),
      window_(std::max<std::size_t>(1, window) * chunksize_),
      ordered_(ordered) {}

void result_stream::top_up() {
  while (!exhausted_ && outstanding_.size() < window_) {
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
      if (!ordered_) {
        f.on_done([c = completions_, state = static_cast<const void*>(f.state().get())](const expected<pool_value>&) {
          {
            std::lock_guard lock(c->mutex);
            c->order.push_back(state);
          }
          c->changed.notify_all();
        });
      }
      outstanding_.push_back(std::move(f));
    }
  }
}

expected<pool_value> result_stream::next(std::chrono::milliseconds timeout) {
  top_up();
  if (outstanding_.empty()) {
    // The input's exception comes after every result read before it, once.
    if (input_error_) std::rethrow_exception(std::exchange(input_error_, nullptr));
    return error(errc::end_of_stream, "every result has been given");
  }
  if (ordered_) {
    if (!outstanding_.front().wait(timeout)) {
      return error(errc::timeout, "the next result was not ready within " + std::to_string(timeout.count()) + " ms");
    }
    auto r = outstanding_.front().get(timeout);
    outstanding_.pop_front();
    return r;
  }
  const void* state = nullptr;
  {
    std::unique_lock lock(completions_->mutex);
    if (!completions_->changed.wait_for(lock, timeout, [&] { return !completions_->order.empty(); })) {
      return error(errc::timeout, "no result was ready within " + std::to_string(timeout.count()) + " ms");
    }
    state = completions_->order.front();
    completions_->order.pop_front();
  }
  // The future whose callback reported it: it counts as resolved once its
  // other callbacks have run too.
  auto done = std::find_if(outstanding_.begin(), outstanding_.end(),
                           [&](const task_future& f) { return f.state().get() == state; });
  if (!done->wait(timeout)) {
    std::lock_guard lock(completions_->mutex);
    completions_->order.push_front(state);  // still the next one, for the next call
    return error(errc::timeout, "no result was ready within " + std::to_string(timeout.count()) + " ms");
  }
  auto r = done->get(timeout);
  outstanding_.erase(done);
  return r;
}

}  // namespace detail

// ---------------------------------------------------------------- pool

expected<pool> pool::start(node& n, pool_options options) {
  auto core = std::make_shared<detail::pool_core>(n, std::move(options));
  if (auto started = core->start(); !started) {
    core->terminate();
    (void)core->join(std::chrono::seconds(10));
    return error(started.error().code, "the pool's workers cannot start: " + started.error().message,
                 started.error().reason);
  }
  // Destroying the node first must not leave the dispatcher talking to it.
  n.add_shutdown_hook([weak = std::weak_ptr<detail::pool_core>(core)] {
    if (auto core = weak.lock(); core && !core->joined()) {
      core->terminate();
      (void)core->join(std::chrono::seconds(10));
    }
  });
  return pool(std::move(core));
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

std::unique_ptr<detail::result_stream> pool::make_stream(detail::task_source source, std::size_t chunksize,
                                                         bool ordered) {
  return std::make_unique<detail::result_stream>(core_, std::move(source), chunksize, core_->window(), ordered);
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
