// The pool's dispatcher actor (pool_dispatcher.hpp): its messages, each
// handled by the state (pool_dispatcher_state.hpp) and followed by pump().
#include "pool_dispatcher.hpp"

#include "pool_dispatcher_state.hpp"

#include <caf/all.hpp>

namespace actorproc::detail {

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
        self->state.arrive(std::move(s.chunk), true);
        self->state.pump();
      },
      [self](pool_room_atom, pool_submission& s) {
        auto promise = self->make_response_promise<bool>();
        self->state.wait_for_room(std::move(s.chunk), promise);
        self->state.pump();
        return promise;
      },
      [self](pool_expire_atom, uint64_t id) {
        self->state.expire(id);
        self->state.pump();
      },
      [self](pool_answer& a) {
        self->state.on_answer(a);
        self->state.pump();
      },
      [self](pool_exit& e) {
        self->state.on_exit(e);
        self->state.pump();
      },
      [self](pool_cancel& c) {
        auto chunk = c.chunk.lock();
        bool cancelled = chunk && self->state.cancel(chunk, c.which);
        self->state.pump();
        return cancelled;
      },
      [self](pool_close_atom, bool cancel_queued) {
        self->state.close(cancel_queued);
        self->state.pump();
        return true;
      },
      [self](pool_terminate_atom) {
        self->state.terminate();
        self->state.pump();
        return true;
      },
      [self](pool_join_atom) {
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
      [self](pool_stats_atom) { return self->state.stats(); },
      [self](pool_workers_atom) { return self->state.workers(); },
  };
}

}  // namespace

caf::actor spawn_pool_dispatcher(node& n, std::shared_ptr<pool_shared> shared, std::vector<actor_handle> workers) {
  return n.system().spawn<caf::detached>(dispatcher_behavior, &n, std::move(shared), std::move(workers));
}

}  // namespace actorproc::detail
