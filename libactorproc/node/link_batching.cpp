// Host sends to one actor, batched (link::send).
//
// Why: a host thread sending in a loop paid one sendmsg per message, and woke
// the worker for each one: 0.9 to 4.2 M messages/s depending on where the
// scheduler put the threads, against 17 M for a worker's batched sends on a
// direct channel. Host sends are now batched as a worker's are
// (wire/batch_builder.hpp): one envelope, one frame, one write and one
// wake-up of the worker per burst.
//
// When a message leaves. A host send is written at once, as before, unless it
// comes within burst_gap of the previous host send to the same actor. Then it
// joins the actor's open batch, which leaves
// - before anything else is appended to the actor's mailbox (a request, a
//   send with descriptors, a large send) or the mailbox is flushed, so the
//   order of everything the host sends is kept;
// - once it holds 16 KiB, written by the sending thread;
// - otherwise at the reactor's next turn: the batch's first message wakes it.
// So a lone send is never delayed, and a message of a burst waits at most
// for one wake-up of the reactor.
#include "link.hpp"

namespace actorproc::detail {
namespace {

using clock = std::chrono::steady_clock;

// Sends closer together than this are a burst. Generous beside the cost of a
// send (under a microsecond), short beside a pause a program makes on purpose.
constexpr auto burst_gap = std::chrono::microseconds(50);
// A larger message gains nothing from sharing an envelope: it is written alone.
constexpr std::size_t batched_bytes = 1024;

}  // namespace

expected<void> link::send(wire::envelope_builder& message, std::chrono::milliseconds timeout) {
  if (wire::framed_size(message.message()) > batched_bytes) {
    return enqueue(message.message(), timeout, delivery::user);
  }
  auto now = clock::now();
  bool wake_reactor = false;
  {
    std::unique_lock lock(mutex);
    if (auto room = await_room_locked(lock, timeout, if_dying::deliver); !room) return room;
    bool burst = now - last_send < burst_gap;
    last_send = now;
    // While the socket is full, a batch would save no write, and its frame
    // (with its list's unused slots) could pass the mailbox bound by more
    // than a message: each message goes alone then.
    if ((!burst && batch.empty()) || write_watched) {
      batch.close_into(out);
      out.append(message.message());
      flush_locked();
      ++messages_in;
      return {};
    }
    if (!batch.accepts(id, 0)) {
      batch.close_into(out);
      batch.open(id, 0);
    }
    auto user = message.envelope().asReader().getUser();
    batch.add_copy(user.getTypeId(), user.getBody());
    ++messages_in;
    if (batch.full()) {
      flush_locked();
    } else if (!flush_scheduled) {
      flush_scheduled = true;
      wake_reactor = true;
    }
  }
  if (wake_reactor) owner.flush_soon(*this);
  return {};
}

void link::flush_batch() {
  std::lock_guard lock(mutex);
  flush_scheduled = false;
  if (state != link_state::exited) flush_locked();
}

}  // namespace actorproc::detail
