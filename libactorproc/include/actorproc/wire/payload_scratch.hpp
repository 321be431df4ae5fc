#pragma once
// payload_scratch: where a host thread builds a one-way message that is about
// to join an actor's batch of host sends (node/link_batching.cpp).
//
// Why: a batched host send only needs the message's Payload (type id and
// body), which the node copies into the batch under the actor's lock. Built in
// an envelope_builder of its own, each message paid for a Cap'n Proto arena
// set up and torn down, an Envelope root and a user union around the body it
// actually needed: about 80 ns of a 125 ns send, measured here, before the
// copy. The user's fill must not run under the actor's lock (a slow fill would
// stall the reactor; a fill that sends to the same actor would deadlock), so
// the message is built here first, by the sending thread alone, and copied.
//
// Each thread keeps one message whose root is a list of Payload slots. A send
// leases the next slot and its fill builds the body in place. The message is
// rebuilt (the words it used zeroed again) when its slots run out or it grew
// beyond its first segment, and only while no lease is out, so a lease's
// builders stay valid until it is given back. Leases nest: a fill that sends
// takes a slot of its own; slots taken while leases are out come from extra
// lists of the same message, given back at the rebuild.
//
// WARNING: a lease belongs to the thread that took it; never hand its builder
// to another thread.

#include <actorproc/envelope.capnp.h>
#include <actorproc/wire/segment_arena.hpp>

#include <capnp/message.h>
#include <capnp/orphan.h>

#include <memory>
#include <optional>
#include <vector>

namespace actorproc::wire {

class payload_scratch {
 public:
  static constexpr unsigned slots = 256;
  static constexpr std::size_t first_segment_words = 4096;  // 32 KiB: slots and their small bodies

  payload_scratch() = default;
  payload_scratch(const payload_scratch&) = delete;
  payload_scratch& operator=(const payload_scratch&) = delete;
  ~payload_scratch();

  /// The next free slot, empty; valid until the matching give_back().
  schema::Payload::Builder take();
  /// Ends the newest lease.
  void give_back() { --leases_; }

  /// The calling thread's scratch.
  static payload_scratch& of_this_thread();

 private:
  void renew();

  std::unique_ptr<capnp::word[]> first_segment_;  // declared first: outlives message_
  std::optional<detail::segment_arena> message_;
  // Lists opened while leases were out and the root's list was used up.
  std::vector<capnp::Orphan<capnp::List<schema::Payload>>> extra_;
  capnp::List<schema::Payload>::Builder list_;
  unsigned used_ = slots;  // none free before the first renew()
  unsigned leases_ = 0;
};

/// One message built in the thread's scratch, for as long as it lives.
class payload_lease {
 public:
  payload_lease() : scratch_(payload_scratch::of_this_thread()), payload_(scratch_.take()) {}
  ~payload_lease() { scratch_.give_back(); }
  payload_lease(const payload_lease&) = delete;
  payload_lease& operator=(const payload_lease&) = delete;

  template <class T>
  typename T::Builder init() {
    payload_.setTypeId(capnp::typeId<T>());
    return payload_.getBody().template initAs<T>();
  }
  schema::Payload::Reader get() const { return payload_.asReader(); }

 private:
  payload_scratch& scratch_;
  schema::Payload::Builder payload_;
};

}  // namespace actorproc::wire
