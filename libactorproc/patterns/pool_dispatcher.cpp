// The pool's dispatcher actor (pool_dispatcher.hpp): its state's rules (the
// queue, the resolution of futures, the workers, their answers and exits, the
// retry decision, pump()), then its messages, each handled by the state and
// followed by pump(). The state's declaration is in pool_dispatcher_state.hpp.
#include "pool_dispatcher.hpp"

#include "pool_dispatcher_state.hpp"

#include <actorproc/node/tsan_handoff.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>

namespace actorproc::detail {

pool_chunk::~pool_chunk() {
  if (taken) return;
  for (auto& t : tasks) {
    try {
      t.result->resolve(error(errc::pool_closed, "the pool has been joined and takes no more tasks"));
    } catch (...) {  // a done-callback threw: a destructor cannot pass that on
    }
  }
}

namespace {

constexpr unsigned failed_starts_before_broken = 3;

// From the reactor's callbacks: dropped if the dispatcher has quit.
template <class Message>
void tell(const caf::weak_actor_ptr& to, Message m) {
  if (auto target = caf::actor_cast<caf::actor>(to)) {
    handoff_release(to.get());
    caf::anon_send(target, std::move(m));
  }
}

}  // namespace

dispatcher_state::~dispatcher_state() {
  // A thread id may be reused once this thread ends.
  if (shared) {
    shared->thread.store(std::thread::id{});
    shared->here = nullptr;
  }
}

void dispatcher_state::enqueue(std::shared_ptr<pool_chunk> c, bool counted, bool first) {
  queued_tasks += c->tasks.size();
  if (!counted) shared->admitted += c->tasks.size();
  if (first) {
    queued.push_front(std::move(c));
  } else {
    queued.push_back(std::move(c));
  }
}

std::shared_ptr<pool_chunk> dispatcher_state::dequeue() {
  auto c = std::move(queued.front());
  queued.pop_front();
  queued_tasks -= c->tasks.size();
  shared->admitted -= c->tasks.size();
  return c;
}

void dispatcher_state::settle_queue(const error& why) {
  while (!queued.empty()) settle(*dequeue(), why);
}

void dispatcher_state::settle(pool_chunk& c, const expected<pool_value>& outcome) {
  for (auto& t : c.tasks) done.emplace_back(t.result, outcome);
  (outcome ? counters.completed : counters.failed) += c.tasks.size();
}

void dispatcher_state::resolve(const std::shared_ptr<future_state<pool_value>>& state, expected<pool_value> outcome) {
  try {
    state->resolve(std::move(outcome));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actorproc: pool '%s': a done-callback threw: %s\n", options().name.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "actorproc: pool '%s': a done-callback threw a non-standard exception\n",
                 options().name.c_str());
  }
}

void dispatcher_state::refuse(pool_chunk& c, const error& why) {
  for (auto& t : c.tasks) resolve(t.result, why);
}

std::optional<error> dispatcher_state::refusal() const {
  if (state == pool_state::broken) return broken_error;
  if (state != pool_state::running) return error(errc::pool_closed, "the pool '" + options().name + "' is closed");
  return std::nullopt;
}

void dispatcher_state::arrive(std::shared_ptr<pool_chunk> c, bool counted) {
  c->taken = true;
  if (auto why = refusal()) {
    if (counted) shared->admitted -= c->tasks.size();
    return refuse(*c, *why);
  }
  unresolved += c->tasks.size();
  enqueue(std::move(c), counted, false);
}

void dispatcher_state::wait_for_room(std::shared_ptr<pool_chunk> c, caf::typed_response_promise<bool> promise) {
  c->taken = true;
  if (refusal() || has_room()) {
    arrive(std::move(c), false);
    promise.deliver(true);
    return;
  }
  waiters.push_back({++next_waiter, std::move(c), std::move(promise)});
  self->delayed_send(self, options().submit_timeout, pool_expire_atom::value, next_waiter);
}

void dispatcher_state::admit_waiters() {
  while (!waiters.empty() && (refusal() || has_room())) {
    auto w = std::move(waiters.front());
    waiters.pop_front();
    arrive(std::move(w.chunk), false);
    w.promise.deliver(true);
  }
}

void dispatcher_state::expire(uint64_t id) {
  auto w = std::find_if(waiters.begin(), waiters.end(), [&](const room_waiter& x) { return x.id == id; });
  if (w == waiters.end()) return;  // admitted meanwhile
  refuse(*w->chunk, error(errc::queue_full, "the pool's queue stayed full for " +
                                                std::to_string(options().submit_timeout.count()) + " ms"));
  w->promise.deliver(false);
  waiters.erase(w);
}

bool dispatcher_state::cancel(const std::shared_ptr<pool_chunk>& c, const void* which) {
  auto in_queue = std::find(queued.begin(), queued.end(), c);
  if (in_queue == queued.end()) return false;  // running or finished: too late
  auto it = std::find_if(c->tasks.begin(), c->tasks.end(), [&](const pool_task& t) { return t.result.get() == which; });
  if (it == c->tasks.end()) return false;
  auto state_of_task = std::move(it->result);
  c->tasks.erase(it);
  if (c->tasks.empty()) queued.erase(in_queue);
  --queued_tasks;
  --shared->admitted;
  ++counters.failed;
  resolve(state_of_task, error(errc::cancelled, "cancelled before it started"));
  --unresolved;
  return true;
}

expected<void> dispatcher_state::spawn_worker() {
  auto h = owner->spawn(options().worker_type, {.name = options().name + "/worker" + std::to_string(++workers_named),
                                                .args = options().initargs});
  if (!h) return h.error();
  adopt(*h);
  return {};
}

void dispatcher_state::adopt(const actor_handle& h) {
  slots.push_back({h, nullptr, 0});
  ++counters.workers_started;
  // After the slot exists: an exit is reported at once if it already happened.
  h.monitor([me = me](actor_ref who, const exit_reason& why) { tell(me, pool_exit{who.id, why}); });
}

std::size_t dispatcher_state::missing() const {
  bool wanted = state == pool_state::running || (state == pool_state::closed && !queued.empty());
  return wanted && slots.size() < options().processes ? options().processes - slots.size() : 0;
}

void dispatcher_state::replace_worker() {
  auto started = spawn_worker();
  if (started) {
    failed_starts = 0;
    return;
  }
  if (++failed_starts < failed_starts_before_broken) return;
  // Workers cannot start: fail everything rather than respawn forever.
  state = pool_state::broken;
  broken_error =
      error(errc::broken, "the pool '" + options().name + "' cannot start workers: " + to_string(started.error()),
            started.error().reason);
  settle_queue(broken_error);
}

void dispatcher_state::send(const actor_handle& h, const std::shared_ptr<pool_chunk>& c) {
  auto fill = [&](schema::PoolRun::Builder run) {
    auto tasks = run.initTasks(static_cast<unsigned>(c->tasks.size()));
    for (unsigned i = 0; i < c->tasks.size(); ++i)
      tasks.setWithCaveats(i, c->tasks[i].input->getRoot<schema::PoolTask>());
  };
  h.request_async<schema::PoolRun, schema::PoolDone>(
      fill, [me = me, worker = h.id()](expected<message<schema::PoolDone>> answer) {
        pool_answer a{worker, error(errc::no_reply)};
        if (answer) {
          a.answer = std::make_shared<const message<schema::PoolDone>>(std::move(*answer));
        } else {
          a.answer = answer.error();
        }
        tell(me, std::move(a));
      });
}

void dispatcher_state::assign() {
  for (auto& w : slots) {
    if (queued.empty()) return;
    if (w.running) continue;
    w.running = dequeue();
    send(w.handle, w.running);
  }
}

std::vector<worker_slot>::iterator dispatcher_state::slot_of(uint64_t worker) {
  return std::find_if(slots.begin(), slots.end(), [&](const worker_slot& w) { return w.handle.id() == worker; });
}

void dispatcher_state::lose(std::vector<worker_slot>::iterator slot) {
  slots.erase(slot);
  ++counters.workers_lost;
}

void dispatcher_state::on_exit(const pool_exit& e) {
  if (leaving) return;
  auto slot = slot_of(e.worker);
  if (slot == slots.end()) return;  // retired, or already counted
  auto running = std::move(slot->running);
  lose(slot);
  if (running) fail_chunk(running, error(errc::actor_down, "the worker exited", e.reason));
}

void dispatcher_state::on_answer(pool_answer& a) {
  auto slot = slot_of(a.worker);
  if (slot == slots.end() || !slot->running) return;
  auto c = std::move(slot->running);
  if (!a.answer) {
    // The worker stays only if its answer says it is well (a limit: its
    // results did not fit in one frame). Otherwise it died, or its handler
    // failed outside any task and it exits: it is replaced.
    if (classify(a.answer.error().code) != error_class::limit) {
      slot->handle.kill();
      lose(slot);
    }
    return fail_chunk(c, a.answer.error());
  }
  const auto& answer = *a.answer;
  auto outcomes = answer->getOutcomes();
  if (outcomes.size() != c->tasks.size()) {
    settle(*c, error(errc::protocol_error, "the worker answered a different number of tasks"));
  } else {
    for (uint32_t i = 0; i < outcomes.size(); ++i) {
      auto o = outcomes[i];
      bool ok = !o.getFailed();
      done.emplace_back(c->tasks[i].result, ok ? expected<pool_value>(pool_value{answer, o})
                                               : error(static_cast<errc>(o.getCode()), o.getMessage()));
      ++(ok ? counters.completed : counters.failed);
    }
  }
  slot->tasks_done += c->tasks.size();
  if (options().maxtasksperchild > 0 && slot->tasks_done >= options().maxtasksperchild) {
    slot->handle.stop(pool_stop_grace);
    retired.push_back(slot->handle);
    slots.erase(slot);
  }
}

void dispatcher_state::fail_chunk(const std::shared_ptr<pool_chunk>& c, const error& why) {
  if (state == pool_state::terminated) return settle(*c, error(errc::cancelled, "the pool was terminated"));
  if (state == pool_state::broken) return settle(*c, broken_error);
  auto kind = classify(why.code);
  if (kind != error_class::peer_gone && kind != error_class::retry_later) return settle(*c, why);
  if (++c->attempts > options().max_retries) {
    error final = why;
    final.message = "the task's worker died " + std::to_string(c->attempts) + " times; the last: " + why.message;
    return settle(*c, final);
  }
  counters.retried += c->tasks.size();
  enqueue(c, false, true);  // first in line: it has waited longest
}

void dispatcher_state::close(bool cancel_queued) {
  if (state == pool_state::running) state = pool_state::closed;
  if (cancel_queued && state == pool_state::closed) settle_queue(error(errc::cancelled, "cancelled by shutdown()"));
}

void dispatcher_state::terminate() {
  if (state == pool_state::terminated) return;
  state = pool_state::terminated;
  settle_queue(error(errc::cancelled, "the pool was terminated"));
  // Running chunks fail through their answers (actor_down), as cancelled.
  for (auto& w : slots) w.handle.kill();
  for (auto& w : retired) w.kill();
}

pool_leave dispatcher_state::leave() {
  leaving = true;
  pool_leave out;
  out.workers = retired;
  for (auto& w : slots) out.workers.push_back(w.handle);
  return out;
}

pool_stats dispatcher_state::stats() const {
  auto s = counters;
  s.workers = slots.size();
  s.queued = queued_tasks;
  s.running = 0;
  for (auto& w : slots) s.running += w.running ? w.running->tasks.size() : 0;
  return s;
}

std::vector<actor_handle> dispatcher_state::workers() const {
  std::vector<actor_handle> out;
  for (auto& w : slots) out.push_back(w.handle);
  return out;
}

void dispatcher_state::pump() {
  for (;;) {
    admit_waiters();
    assign();
    if (missing() > 0) {
      replace_worker();
      continue;
    }
    if (done.empty()) break;
    auto batch = std::move(done);
    done.clear();
    // A callback may submit (a message to this actor) or cancel (in place, through cancel_here).
    for (auto& [state_of_task, outcome] : batch) resolve(state_of_task, std::move(outcome));
    unresolved -= batch.size();
  }
  if (idle() && !joiners.empty()) {
    auto answer = leave();
    for (auto& j : joiners) j.deliver(answer);
    joiners.clear();
  }
}

// ---- the actor

namespace {

using dispatcher = caf::stateful_actor<dispatcher_state>;

caf::behavior dispatcher_behavior(dispatcher* self, node* owner, std::shared_ptr<pool_shared> shared,
                                  std::vector<actor_handle> workers) {
  auto& st = self->state;
  st.self = self;
  st.me = caf::actor_cast<caf::weak_actor_ptr>(self);
  st.workers_named = workers.size();  // pool_core::start named them 1..n
  st.owner = owner;
  st.shared = std::move(shared);
  st.counters.processes = st.options().processes;
  // A detached actor runs its initialization and every handler on its own thread.
  st.shared->thread.store(std::this_thread::get_id());
  st.shared->here = &st;  // the handler that runs the callback pumps after it
  for (auto& h : workers) st.adopt(h);
  return {
      [self](pool_submission& s) {
        handoff_scope sync{self->ctrl()};
        self->state.arrive(std::move(s.chunk), true);
        self->state.pump();
      },
      [self](pool_room_atom, pool_submission& s) {
        handoff_scope sync{self->ctrl()};
        auto promise = self->make_response_promise<bool>();
        self->state.wait_for_room(std::move(s.chunk), promise);
        self->state.pump();
        return promise;
      },
      [self](pool_expire_atom, uint64_t id) {
        handoff_scope sync{self->ctrl()};
        self->state.expire(id);
        self->state.pump();
      },
      [self](pool_answer& a) {
        handoff_scope sync{self->ctrl()};
        self->state.on_answer(a);
        self->state.pump();
      },
      [self](pool_exit& e) {
        handoff_scope sync{self->ctrl()};
        self->state.on_exit(e);
        self->state.pump();
      },
      [self](pool_cancel& c) {
        handoff_scope sync{self->ctrl()};
        auto chunk = c.chunk.lock();
        bool cancelled = chunk && self->state.cancel(chunk, c.which);
        self->state.pump();
        return cancelled;
      },
      [self](pool_close_atom, bool cancel_queued) {
        handoff_scope sync{self->ctrl()};
        self->state.close(cancel_queued);
        self->state.pump();
        return true;
      },
      [self](pool_terminate_atom) {
        handoff_scope sync{self->ctrl()};
        self->state.terminate();
        self->state.pump();
        return true;
      },
      [self](pool_join_atom) {
        handoff_scope sync{self->ctrl()};
        auto promise = self->make_response_promise<pool_leave>();
        auto& st = self->state;
        if (st.state == pool_state::running) {
          promise.deliver(pool_leave{error(errc::invalid_argument, "join() before close() or terminate()"), {}});
        } else if (st.idle()) {
          promise.deliver(st.leave());
        } else {
          st.joiners.push_back(promise);  // answered by pump() once idle
        }
        return promise;
      },
      [self](pool_stats_atom) {
        handoff_scope sync{self->ctrl()};
        return self->state.stats();
      },
      [self](pool_workers_atom) {
        handoff_scope sync{self->ctrl()};
        return self->state.workers();
      },
  };
}

}  // namespace

caf::actor spawn_pool_dispatcher(node& n, std::shared_ptr<pool_shared> shared, std::vector<actor_handle> workers) {
  return n.system().spawn<caf::detached>(dispatcher_behavior, &n, std::move(shared), std::move(workers));
}

}  // namespace actorproc::detail
