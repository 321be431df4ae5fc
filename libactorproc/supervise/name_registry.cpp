// The name registry of one supervisor: a CAF actor that owns what named
// handles share (see name_entry.hpp): the published views, the messages
// buffered while a child restarts, and the callers waiting for the next
// incarnation. It never blocks, except to hand a new incarnation the messages
// buffered for it (bounded by their send timeout).

#include "name_entry.hpp"

#include <actorproc/node/caf_interop.hpp>
#include <actorproc/node/tsan_handoff.hpp>

#include <capnp/message.h>

#include <caf/all.hpp>

#include <deque>
#include <unordered_map>

// Local messages only (a registry is never reached from another node), so
// these need no serialization.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<actorproc::detail::name_entry>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::actor_handle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<capnp::MallocMessageBuilder>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorproc::expected<actorproc::detail::kept>)


namespace actorproc::detail {
namespace {

using namespace std::chrono_literals;

using up_atom = caf::atom_constant<caf::atom("nm_up")>;
using down_atom = caf::atom_constant<caf::atom("nm_down")>;
using keep_atom = caf::atom_constant<caf::atom("nm_keep")>;
using await_atom = caf::atom_constant<caf::atom("nm_await")>;

// Only the supervisor's own start or stop of a child can make it wait this
// long: every step it takes is bounded; this bounds a broken tree.
constexpr auto patience = std::chrono::minutes(10);

using buffered_message = std::shared_ptr<capnp::MallocMessageBuilder>;

struct registry_state {
  std::unordered_map<const name_entry*, std::deque<buffered_message>> buffered;
  std::unordered_map<const name_entry*, std::vector<caf::response_promise>> waiters;
};

void publish(name_entry& entry, name_view next) {
  entry.view.store(std::make_shared<const name_view>(std::move(next)), std::memory_order_release);
}

// The callers waiting on `entry` look at its new view themselves.
void wake(registry_state& state, const name_entry& entry) {
  auto it = state.waiters.find(&entry);
  if (it == state.waiters.end()) return;
  for (auto& waiter : it->second) waiter.deliver(true);
  state.waiters.erase(it);
}

caf::behavior name_registry(caf::stateful_actor<registry_state>* self, caf::actor supervisor) {
  self->monitor(supervisor);
  self->set_down_handler([self](caf::down_msg&) {
    for (auto& [entry, waiters] : self->state.waiters) {
      for (auto& waiter : waiters) waiter.deliver(false);
    }
    self->quit();
  });
  return {
      [self](up_atom, const std::shared_ptr<name_entry>& entry, const actor_handle& handle) {
        handoff_scope sync{self->ctrl()};
        // Delivered before the view says running, so that sends made meanwhile
        // (which come here and are told to go direct) queue up behind them. If
        // this incarnation is already dying, the rest wait for the next one.
        auto& buffered = self->state.buffered[entry.get()];
        while (!buffered.empty()) {
          auto& message = *buffered.front();
          message.getRoot<schema::Envelope>().setTo(handle.id());
          if (!handle.post_unless_dying(message, default_timeout)) break;
          buffered.pop_front();
        }
        publish(*entry, {name_phase::running, handle, entry->look()->incarnation + 1});
        wake(self->state, *entry);
        return true;
      },
      [self](down_atom, const std::shared_ptr<name_entry>& entry, bool restarting) {
        handoff_scope sync{self->ctrl()};
        publish(*entry, {restarting ? name_phase::restarting : name_phase::stopped, std::nullopt,
                         entry->look()->incarnation});
        if (!restarting) self->state.buffered.erase(entry.get());
        wake(self->state, *entry);
        return true;
      },
      [self](keep_atom, const std::shared_ptr<name_entry>& entry, const buffered_message& message) -> expected<kept> {
        handoff_scope sync{self->ctrl()};
        auto view = entry->look();
        switch (entry->phase_of(*view)) {
          case name_phase::running:
            return kept::running;
          case name_phase::stopped:
            return entry->not_running(*view);
          case name_phase::restarting:
            break;
        }
        auto& buffered = self->state.buffered[entry.get()];
        if (buffered.size() >= entry->buffer_limit) {
          return error(errc::mailbox_full, "child '" + entry->id + "' is restarting and " +
                                               std::to_string(entry->buffer_limit) + " messages already wait for it");
        }
        buffered.push_back(message);
        return kept::kept;
      },
      [self](await_atom, const std::shared_ptr<name_entry>& entry, uint64_t failed) -> caf::result<bool> {
        handoff_scope sync{self->ctrl()};
        auto view = entry->look();
        auto phase = entry->phase_of(*view);
        if (phase == name_phase::stopped || (phase == name_phase::running && view->incarnation != failed)) return true;
        auto promise = self->make_response_promise();
        self->state.waiters[entry.get()].push_back(promise);
        return promise;
      },
  };
}

// A blocking request to the registry of `entry`; nullopt if it is gone or the
// timeout passed first.
template <class R, class... Ts>
std::optional<R> ask(const name_entry& entry, std::chrono::milliseconds timeout, Ts&&... xs) {
  auto registry = caf::actor_cast<caf::actor>(entry.registry);
  if (!registry) return std::nullopt;
  caf::scoped_actor self{registry->home_system()};
  std::optional<R> answer;
  auto* sync = caf::actor_cast<caf::strong_actor_ptr>(registry).get();
  handoff_release(sync);
  self->request(registry, std::max(timeout, 0ms), std::forward<Ts>(xs)...)
      .receive([&](R& value) { answer = std::move(value); }, [](caf::error&) {});
  handoff_acquire(sync);
  return answer;
}

}  // namespace

caf::actor spawn_name_registry(caf::actor_system& system, const caf::actor& supervisor) {
  return system.spawn(name_registry, supervisor);
}

void publish_up(const std::shared_ptr<name_entry>& entry, const actor_handle& handle) {
  (void)ask<bool>(*entry, patience, up_atom::value, entry, handle);
}

void publish_down(const std::shared_ptr<name_entry>& entry, bool restarting) {
  (void)ask<bool>(*entry, patience, down_atom::value, entry, restarting);
}

void publish_exit(const std::shared_ptr<name_entry>& entry, bool restarting) {
  // An enqueue into a local mailbox completes before anon_send returns, so the
  // supervisor's later request (publish_up) lands behind it.
  if (auto registry = caf::actor_cast<caf::actor>(entry->registry)) {
    handoff_release(caf::actor_cast<caf::strong_actor_ptr>(registry).get());
    caf::anon_send(registry, down_atom::value, entry, restarting);
  }
}

expected<kept> keep_for_next(name_entry& entry, wire::envelope_builder& out, std::chrono::milliseconds timeout) {
  auto copy = std::make_shared<capnp::MallocMessageBuilder>();
  copy->setRoot(out.envelope().asReader());
  auto answer = ask<expected<kept>>(entry, timeout, keep_atom::value, entry.shared_from_this(), buffered_message(std::move(copy)));
  if (!answer) return error(errc::timeout, "child '" + entry.id + "' is restarting and its supervisor did not answer");
  return std::move(*answer);
}

bool await_incarnation(name_entry& entry, uint64_t failed, std::chrono::milliseconds timeout) {
  return ask<bool>(entry, timeout, await_atom::value, entry.shared_from_this(), failed).value_or(false);
}

}  // namespace actorproc::detail

