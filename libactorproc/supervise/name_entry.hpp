#pragma once
// The state behind the named_actor handles of one supervised child. Internal.
//
// One model: the state is owned by its supervisor's name registry, a CAF actor
// (name_registry.cpp). The supervisor tells it, synchronously, when an
// incarnation is up and when it is gone; the registry delivers what was
// buffered for the new incarnation, then publishes an immutable view. Handles
// read the view (one atomic load) and send straight to the incarnation it
// names; only what needs the registry (buffering a message while the child
// restarts, waiting for the next incarnation) is a CAF request to it, bounded
// by the caller's timeout.
//
// The supervisor hears of a death last: the node sees it first (a write that
// finds the mailbox closed, the end of the mailbox stream, an exit
// announcement, the pidfd), then the child's proxy, then the supervisor. So a
// view that says "running" only means "running unless the node has seen this
// incarnation die": phase_of() asks the incarnation too, and sends go through
// actor_handle's *_unless_dying calls, which refuse atomically once the death
// is seen. From that moment the declared restarting policy applies.

#include <actorproc/supervise/named_actor.hpp>

#include <caf/actor_addr.hpp>

#include <atomic>
#include <memory>

namespace actorproc::detail {

enum class name_phase : uint8_t { running, restarting, stopped };

/// What the registry last published. Immutable once published.
struct name_view {
  name_phase phase = name_phase::stopped;
  std::optional<actor_handle> current;  // set while running
  uint64_t incarnation = 0;             // of `current`, or of the last one
};

struct name_entry : std::enable_shared_from_this<name_entry> {
  name_entry(std::string id, restarting_policy policy, std::size_t buffer_limit, restart_type restart,
             caf::actor_addr registry)
      : id(std::move(id)), policy(policy), buffer_limit(buffer_limit), restart(restart), registry(std::move(registry)) {}

  /// A handle to a child that does not exist: every call fails.
  static std::shared_ptr<name_entry> unknown(std::string id) {
    return std::make_shared<name_entry>(std::move(id), restarting_policy::fail, 0, restart_type::temporary,
                                        caf::actor_addr());
  }

  const std::string id;
  const restarting_policy policy;
  const std::size_t buffer_limit;
  const restart_type restart;
  /// Weak: the registry exits with its supervisor; then every wait fails.
  const caf::actor_addr registry;

  /// Written by the registry only.
  std::atomic<std::shared_ptr<const name_view>> view{std::make_shared<const name_view>()};

  std::shared_ptr<const name_view> look() const { return view.load(std::memory_order_acquire); }
  /// The phase of `v` now: its phase, unless the node has already seen the
  /// running incarnation die (then restarting, or stopped if the restart type
  /// already rules a restart out).
  name_phase phase_of(const name_view& v) const;
  error not_running(const name_view& v) const;

  expected<void> post(wire::envelope_builder& out, std::chrono::milliseconds timeout);
  expected<wire::frame_ptr> call(wire::envelope_builder& out, std::chrono::milliseconds timeout, bool resend);
};

// ---- the registry (name_registry.cpp)

/// What a registry answers to a message offered while its child restarts.
enum class kept : uint8_t {
  kept,     // buffered for the next incarnation
  running,  // an incarnation is up again: send it straight there
};

/// Spawns the name registry of a supervisor; it exits when `supervisor` does.
caf::actor spawn_name_registry(caf::actor_system& system, const caf::actor& supervisor);
/// From the supervisor: incarnation `handle` of `entry` is running. Returns once
/// the messages buffered for it are delivered and the view says running.
void publish_up(const std::shared_ptr<name_entry>& entry, const actor_handle& handle);
/// From the supervisor: the incarnation is gone; `restarting` says whether
/// another will follow. Returns once the view says so.
void publish_down(const std::shared_ptr<name_entry>& entry, bool restarting);
/// The same without waiting, for an incarnation whose exit is final: handles
/// already read its view as restarting or stopped (name_entry::phase_of asks
/// the incarnation), so the view only catches up, and the restart saves a
/// round trip. Ordered before any later publish_up from the same supervisor.
void publish_exit(const std::shared_ptr<name_entry>& entry, bool restarting);
/// Offers a message to the registry while the child restarts (policy buffer).
expected<kept> keep_for_next(name_entry& entry, wire::envelope_builder& out, std::chrono::milliseconds timeout);
/// Waits until the view is stopped, or running an incarnation other than
/// `failed`; false at the deadline or if the registry is gone.
bool await_incarnation(name_entry& entry, uint64_t failed, std::chrono::milliseconds timeout);

}  // namespace actorproc::detail
