#pragma once
// batch_builder: a burst of one-way messages to one actor, sent as one envelope.
//
// Why: per message, Cap'n Proto's fixed costs dwarf the cost of the fields
// themselves. The sender sets up a MessageBuilder and its arena, and the
// receiver sets up a MessageReader and walks the frame to validate it. An actor
// that sends many one-way messages to the same destination therefore collects
// them in one Envelope.batch (a List(Payload)): one builder, one frame, one
// reader and one validation walk for the whole burst.
//
// The owner (the worker loop, per channel) keeps message order:
// - it closes the open batch before anything else is written to that channel;
// - it closes the batch whenever it flushes the channel.
// So batching never holds a message back beyond the point where it would have
// been written anyway. A batch of one message goes out as a plain `user`
// envelope, byte for byte what an unbatched send produces.
//
// Messages are built in place, in a list opened with room for a guessed
// number of them: the capacity follows the sender's recent bursts (twice the
// last batch, between min_capacity and max_capacity). Closing trims the list to
// its length, so the frame carries at most the unused slots' zeros.

#include <actorproc/envelope.capnp.h>
#include <actorproc/wire/frame_writer.hpp>
#include <actorproc/wire/segment_arena.hpp>

#include <capnp/message.h>

#include <cstddef>
#include <memory>
#include <optional>

namespace actorproc::wire {

class batch_builder {
 public:
  /// A batch is closed once its message reaches this size. It may exceed it by
  /// the one message that crossed it.
  static constexpr std::size_t close_at_bytes = 16 * 1024;
  /// Bounds of the list's capacity: a batch also closes when its list is full.
  static constexpr unsigned min_capacity = 4;
  static constexpr unsigned max_capacity = 1024;
  /// The bytes of one slot of the list.
  static constexpr std::size_t slot_bytes =
      (schema::Payload::_capnpPrivate::dataWordSize + schema::Payload::_capnpPrivate::pointerCount) *
      sizeof(capnp::word);

  batch_builder() = default;
  batch_builder(const batch_builder&) = delete;
  batch_builder& operator=(const batch_builder&) = delete;

  bool empty() const { return count_ == 0; }
  std::size_t count() const { return count_; }
  /// Whether a message to `to` from `from` may join the open batch.
  bool accepts(uint64_t to, uint64_t from) const {
    return count_ != 0 && count_ < capacity_ && to_ == to && from_ == from;
  }
  /// Whether the batch holds messages to `to` from `from` (full or not).
  bool holds(uint64_t to, uint64_t from) const { return count_ != 0 && to_ == to && from_ == from; }

  /// Starts a batch to `to`; the batch must be empty. Its list gets at most
  /// room for `max_bytes` of slots (at least one).
  void open(uint64_t to, uint64_t from, std::size_t max_bytes = SIZE_MAX);

  /// Adds a message of type T and returns its builder, valid until the batch
  /// is closed. The batch must be open and accept it.
  template <class T>
  typename T::Builder add() {
    auto payload = list_[count_++];
    payload.setTypeId(capnp::typeId<T>());
    return payload.getBody().template initAs<T>();
  }
  /// Adds a copy of a message built elsewhere: its schema type id and body.
  /// For senders that must not build under the batch's lock (the host's).
  void add_copy(uint64_t type_id, capnp::AnyPointer::Reader body) {
    auto payload = list_[count_++];
    payload.setTypeId(type_id);
    payload.getBody().set(body);
  }
  /// The builder of the last message added, if it is a T (else nullopt),
  /// valid until the batch is closed. Nothing follows that message in the
  /// batch, so changing it is as good as having added it so.
  template <class T>
  std::optional<typename T::Builder> last() {
    if (count_ == 0) return std::nullopt;
    auto payload = list_[count_ - 1];
    if (payload.getTypeId() != capnp::typeId<T>()) return std::nullopt;
    return payload.getBody().template getAs<T>();
  }
  /// Takes back the message added at `index` (its filling failed, or it is
  /// too large). With `compact`, the other messages are copied into a fresh
  /// batch, so the frame keeps nothing of the dropped one (its words stay
  /// allocated otherwise, zeroed); builders of other messages are then
  /// invalid. Without it, builders of earlier messages stay valid.
  void drop(unsigned index, bool compact = true);

  /// The size of the batch's message so far, in bytes.
  std::size_t size_bytes() const;
  /// The size of its frame if it were closed now, but counting every slot of
  /// its list, free ones included: closing trims the list in place, so the
  /// frame carries the free slots as zeros (at most what this says).
  std::size_t reserved_bytes() const;
  /// Whether the batch must be closed before another message joins it.
  bool full() const { return at_capacity() || size_bytes() >= close_at_bytes; }
  /// Whether the list has no free slot left.
  bool at_capacity() const { return count_ == capacity_; }

  /// Frames the batch into `out` (nothing if it is empty) and empties it.
  void close_into(frame_writer& out);

 private:
  // The first segment, kept zeroed between batches (the builder zeroes what it
  // used when destroyed), so a batch that fits in it allocates nothing.
  static constexpr std::size_t first_segment_words = 2 * close_at_bytes / sizeof(capnp::word);
  // Declaration order is destruction order reversed: the message goes before
  // the segment it uses.
  std::unique_ptr<capnp::word[]> first_segment_;
  // mutable: Cap'n Proto 0.9's sizeInWords() is not const, though it only reads.
  mutable std::optional<detail::segment_arena> message_;
  capnp::List<schema::Payload>::Builder list_;
  unsigned count_ = 0;
  unsigned capacity_ = 0;
  unsigned next_capacity_ = 2 * min_capacity;
  uint64_t to_ = 0;
  uint64_t from_ = 0;
};

}  // namespace actorproc::wire
