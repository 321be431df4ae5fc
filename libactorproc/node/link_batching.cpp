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
// - otherwise batch_linger after it opened, written by the reactor. The first
//   batch of a burst wakes the reactor (its eventfd); while the burst goes
//   on, the reactor only looks again when the open batch is due, and finds
//   most batches already written by the sender. So a burst costs no wake-up
//   per batch, and the reactor does not contend for the lock with the sender.
// So a lone send is never delayed, and a message of a burst waits at most
// batch_linger.
//
// Where a message is built. A send that finds a burst on (bursting()) builds
// its message in the thread's payload_scratch and copies it into the batch
// under the lock: about 20 ns to build plus 40 to copy, against 125 for an
// envelope of its own plus the same copy. Otherwise it builds its envelope, as
// before, which a lone or large send writes without a copy.
#include "link.hpp"

namespace actorproc::detail {
namespace {

using clock = std::chrono::steady_clock;

// Sends closer together than this are a burst. Generous beside the cost of a
// send (under a microsecond), short beside a pause a program makes on purpose.
constexpr auto burst_gap = std::chrono::microseconds(50);
// A send that finds a batch open then follows the previous send within burst_gap.
static_assert(batch_linger <= burst_gap);
// A larger message gains nothing from sharing an envelope: it is written alone.
constexpr std::size_t batched_bytes = 1024;

// An envelope around `message`, built elsewhere, for when it goes alone.
void wrap(wire::envelope_builder& out, uint64_t to, schema::Payload::Reader message) {
  out.address(to, 0, 0);
  auto user = out.envelope().initUser();
  user.setTypeId(message.getTypeId());
  user.getBody().set(message.getBody());
}

}  // namespace

expected<void> link::send(wire::envelope_builder& message, std::chrono::milliseconds timeout) {
  if (wire::framed_size(message.message()) > batched_bytes) {
    return enqueue(message.message(), timeout, delivery::user);
  }
  return batch_or_write(message.envelope().asReader().getUser(), &message, timeout);
}

expected<void> link::send(schema::Payload::Reader message, std::chrono::milliseconds timeout) {
  if (message.getBody().targetSize().wordCount * sizeof(capnp::word) > batched_bytes) {
    wire::envelope_builder alone;
    wrap(alone, id, message);
    return enqueue(alone.message(), timeout, delivery::user);
  }
  return batch_or_write(message, nullptr, timeout);
}

std::size_t link::slot_room_locked() const {
  // While the socket is full, the list's free slots count against the bound
  // (has_room_locked()): no more of them than there is room for.
  if (!write_watched) return SIZE_MAX;
  return out.size() < mailbox_bytes ? mailbox_bytes - out.size() : 0;
}

expected<void> link::batch_or_write(schema::Payload::Reader message, wire::envelope_builder* built,
                                    std::chrono::milliseconds timeout) {
  bool wake_reactor = false;
  {
    std::unique_lock lock(mutex);
    if (auto room = await_room_locked(lock, timeout, if_dying::deliver); !room) return room;
    // While the socket is full, batches go on: the receiver is the slower
    // side then, and a batch costs it one frame to read and validate instead
    // of one per message. has_room_locked() counts the batch's free slots
    // meanwhile, so the bound holds as for single messages.
    if (batch.empty()) {
      // A send that joins an open batch follows the previous send by less
      // than the batch's linger, itself burst_gap: only here is the clock read.
      auto now = clock::now();
      bool burst = now - last_send < burst_gap;
      last_send = now;
      if (!burst) {
        if (built != nullptr) {
          out.append(built->message());
        } else {
          wire::envelope_builder alone;
          wrap(alone, id, message);
          out.append(alone.message());
        }
        flush_locked();
        ++messages_in;
        return {};
      }
      batch.open(id, 0, slot_room_locked());
      batch_due = now + batch_linger;
    } else if (!batch.accepts(id, 0)) {
      // Its list is full: the next one joins it in `out`, unwritten, and
      // leaves with it (by batch_due, which stays).
      batch.close_into(out);
      batch.open(id, 0, slot_room_locked());
    }
    batch.add_copy(message.getTypeId(), message.getBody());
    ++messages_in;
    if (batch.full()) {
      flush_locked();
      // The time of this send, for the next one's burst test: the batch it
      // closed was the last to read the clock, up to 50 us ago.
      last_send = clock::now();
    } else if (!flush_scheduled.load(std::memory_order_relaxed)) {
      flush_scheduled.store(true, std::memory_order_relaxed);
      wake_reactor = true;
    }
  }
  if (wake_reactor) owner.flush_soon(*this);
  return {};
}

std::optional<clock::time_point> link::flush_batch(clock::time_point now) {
  std::lock_guard lock(mutex);
  if (state != link_state::exited && !batch.empty() && batch_due > now) return batch_due;
  flush_scheduled.store(false, std::memory_order_relaxed);
  if (state != link_state::exited) flush_locked();
  return std::nullopt;
}

}  // namespace actorproc::detail
