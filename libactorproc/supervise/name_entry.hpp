#pragma once
// The shared state behind named_actor handles of one supervised child. Internal.
// Its supervisor calls up() when an incarnation is running and down() when it
// is gone; handles read it from any thread.
//
// The supervisor hears of a death last: the node sees it first (a write that
// finds the mailbox closed, the end of the mailbox stream, an exit
// announcement, the pidfd), then the child's
// proxy, then the supervisor's thread. So "running" here only means "running
// unless the node has seen this incarnation die": every operation asks the
// incarnation too (actor_handle::dying()), and sends through the *_unless_dying
// calls, which refuse atomically once the death is seen. From that moment the
// declared restarting policy applies, not when the supervisor catches up.

#include <actorproc/supervise/named_actor.hpp>

#include <capnp/message.h>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace actorproc::detail {

struct name_entry {
  enum class phase : uint8_t { running, restarting, stopped };

  name_entry(std::string id, restarting_policy policy, std::size_t buffer_limit,
             restart_type restart = restart_type::permanent)
      : id(std::move(id)), policy(policy), buffer_limit(buffer_limit), restart(restart) {}

  const std::string id;
  const restarting_policy policy;
  const std::size_t buffer_limit;
  const restart_type restart;

  std::mutex mutex;
  std::condition_variable changed;
  phase state = phase::stopped;  // as the supervisor last said; see phase_locked()
  std::optional<actor_handle> current;
  uint64_t incarnation = 0;
  std::deque<std::unique_ptr<capnp::MallocMessageBuilder>> buffered;  // one-way messages for the next incarnation

  /// A new incarnation is running: deliver what was buffered for it, in order.
  void up(const actor_handle& handle);
  /// The incarnation is gone; `restarting` says whether another will follow.
  void down(bool restarting);

  /// The phase now: `state`, unless the node has already seen the running
  /// incarnation die (then restarting, or stopped if its restart type rules a
  /// restart out).
  phase phase_locked() const;

  expected<void> post(wire::envelope_builder& out, std::chrono::milliseconds timeout);
  expected<wire::frame_ptr> call(wire::envelope_builder& out, std::chrono::milliseconds timeout, bool resend);

 private:
  error not_running_locked() const;
  // Keeps a one-way message for the next incarnation (restarting_policy::buffer).
  expected<void> keep_locked(wire::envelope_builder& out);
};

}  // namespace actorproc::detail
