#pragma once
// The queue actor's record of items handed to clients and not yet settled
// (patterns/queue.hpp: acknowledged on a joinable queue, asked past on a plain
// one), kept per batch: a get hands out consecutive sequence numbers, so one
// entry per batch finds any item by its number, and a batch costs one map
// node, not one per item. A batch is forgotten once none of its items is
// left. Pure bookkeeping, unit-tested in tests/queue_rules_test.cpp.

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace actorproc::detail {

template <class Owner, class Item>
class fetched_items {
 public:
  /// Records `items` as handed to `owner`, numbered first, first + 1, ...
  void add(uint64_t first, Owner owner, std::vector<Item> items) {
    if (items.empty()) return;
    std::size_t n = items.size();
    size_ += n;
    batches_.emplace_hint(batches_.end(), first, batch{std::move(owner), false, n, std::move(items), std::vector<bool>(n, true)});
  }
  /// Unsettled items, in every batch.
  std::size_t size() const { return size_; }

  /// The client of the batch at `first` let go of it: every item was handed out.
  void mark_handed(uint64_t first) {
    if (auto it = batches_.find(first); it != batches_.end()) it->second.handed = true;
  }
  /// Settles every item of the batch at `first` at once (a plain queue's batch, handed out).
  void drop(uint64_t first) {
    if (auto it = batches_.find(first); it != batches_.end()) {
      size_ -= it->second.open;
      batches_.erase(it);
    }
  }
  /// Settles items first, first + 1, ... (`count` of them: acknowledged);
  /// returns how many were unsettled (the others are unknown, or settled
  /// already). A settled item is kept until its whole batch is settled.
  std::size_t settle(uint64_t first, std::size_t count = 1) {
    std::size_t settled = 0;
    uint64_t seq = first, end = first + count;
    auto it = batches_.upper_bound(seq);
    if (it != batches_.begin()) --it;  // the batch that may hold `seq`
    while (seq < end && it != batches_.end()) {
      if (it->first > seq) seq = it->first;  // numbers between batches are nobody's
      batch& b = it->second;
      for (uint64_t stop = std::min<uint64_t>(end, it->first + b.items.size()); seq < stop; ++seq) {
        std::size_t i = seq - it->first;
        if (!b.open_items[i]) continue;
        b.open_items[i] = false;
        --b.open;
        ++settled;
      }
      it = b.open == 0 ? batches_.erase(it) : std::next(it);
    }
    size_ -= settled;
    return settled;
  }
  /// Takes item `seq` out (to give it back to the queue); nullopt if unknown or settled.
  std::optional<Item> take(uint64_t seq) {
    auto it = batches_.upper_bound(seq);
    if (it == batches_.begin()) return std::nullopt;
    --it;
    batch& b = it->second;
    std::size_t i = seq - it->first;
    if (i >= b.items.size() || !b.open_items[i]) return std::nullopt;
    b.open_items[i] = false;
    std::optional<Item> item(std::move(b.items[i]));
    --size_;
    if (--b.open == 0) batches_.erase(it);
    return item;
  }
  /// The lowest unsettled number in a handed-out batch whose owner passes `mine`; 0 if none.
  template <class Pred>
  uint64_t oldest_handed(Pred mine) const {
    for (const auto& [first, b] : batches_) {
      if (!b.handed || !mine(b.owner)) continue;
      for (std::size_t i = 0; i < b.items.size(); ++i) {
        if (b.open_items[i]) return first + i;
      }
    }
    return 0;
  }
  /// The unsettled numbers of the batches whose owner passes `pick`, ascending.
  template <class Pred>
  std::vector<uint64_t> unsettled_of(Pred pick) const {
    std::vector<uint64_t> out;
    for (const auto& [first, b] : batches_) {
      if (!pick(b.owner)) continue;
      for (std::size_t i = 0; i < b.items.size(); ++i) {
        if (b.open_items[i]) out.push_back(first + i);
      }
    }
    return out;
  }

 private:
  struct batch {
    Owner owner;
    bool handed = false;  // its client let go of it (asked again, or was destroyed)
    std::size_t open = 0;  // items not yet settled
    std::vector<Item> items;
    std::vector<bool> open_items;
  };
  std::map<uint64_t, batch> batches_;  // by the first item's number
  std::size_t size_ = 0;
};

}  // namespace actorproc::detail
