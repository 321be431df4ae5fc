#pragma once
// The shared state behind named_actor handles of one supervised child. Internal.
// Its supervisor calls up() when an incarnation is running and down() when it
// is gone; handles read it from any thread.

#include <actorproc/supervise/named_actor.hpp>

#include <capnp/message.h>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace actorproc::detail {

struct name_entry {
  enum class phase : uint8_t { running, restarting, stopped };

  name_entry(std::string id, restarting_policy policy, std::size_t buffer_limit)
      : id(std::move(id)), policy(policy), buffer_limit(buffer_limit) {}

  const std::string id;
  const restarting_policy policy;
  const std::size_t buffer_limit;

  std::mutex mutex;
  std::condition_variable changed;
  phase state = phase::stopped;
  std::optional<actor_handle> current;
  uint64_t incarnation = 0;
  std::deque<std::unique_ptr<capnp::MallocMessageBuilder>> buffered;  // one-way messages for the next incarnation

  /// A new incarnation is running: deliver what was buffered for it, in order.
  void up(const actor_handle& handle);
  /// The incarnation is gone; `restarting` says whether another will follow.
  void down(bool restarting);

  expected<void> post(wire::envelope_builder& out, std::chrono::milliseconds timeout);
  expected<wire::frame_ptr> call(wire::envelope_builder& out, std::chrono::milliseconds timeout, bool resend);
};

}  // namespace actorproc::detail
