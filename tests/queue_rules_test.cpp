// The queue's accounting rules, without processes: the credits it grants keep
// the maxsize bound and share the room, a get's batch is a fair share, and a
// client's batch sizes follow its pace (patterns/queue_rules.hpp, queue.hpp);
// the items handed out are found by number and settled (queue_fetched.hpp).
#define BOOST_TEST_MODULE queue_rules
#include <boost/test/unit_test.hpp>

#include <actorproc/patterns/queue.hpp>
#include <actorproc/patterns/queue_fetched.hpp>
#include <actorproc/patterns/queue_rules.hpp>

#include <string>
#include <vector>

using namespace actorproc::detail;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(credits_are_granted_only_against_free_room) {
  BOOST_TEST(queue_rules::room(10, 3, 4) == 3u);
  BOOST_TEST(queue_rules::room(10, 6, 4) == 0u);
  BOOST_TEST(queue_rules::room(10, 12, 0) == 0u);  // redelivered items may exceed maxsize
  BOOST_TEST(queue_rules::grant(0, 64, 0) == 0u);  // full: the reservation waits
  BOOST_TEST(queue_rules::grant(3, 64, 0) == 3u);  // never more than the room
  BOOST_TEST(queue_rules::grant(100, 8, 0) == 8u);  // never more than asked
  BOOST_TEST(queue_rules::grant(100, 0, 0) == 1u);  // a put always asks for one at least
}

BOOST_AUTO_TEST_CASE(scarce_room_is_shared_down_to_one_credit) {
  BOOST_TEST(queue_rules::grant(100, 256, 3) == 25u);  // four waiting: a quarter each
  BOOST_TEST(queue_rules::grant(3, 256, 5) == 1u);     // less room than waiters: one each, in turn
  // Granting in turn never promises more than maxsize in all.
  std::size_t maxsize = 7, queued = 2, credits = 0;
  for (std::size_t waiting = 4; waiting > 0; --waiting) {
    credits += queue_rules::grant(queue_rules::room(maxsize, queued, credits), 256, waiting - 1);
    BOOST_TEST(queued + credits <= maxsize);
  }
}

BOOST_AUTO_TEST_CASE(a_get_fetches_at_most_its_share_while_others_wait) {
  BOOST_TEST(queue_rules::fetch(0, 256, 0) == 0u);
  BOOST_TEST(queue_rules::fetch(1000, 256, 0) == 256u);
  BOOST_TEST(queue_rules::fetch(10, 256, 0) == 10u);
  BOOST_TEST(queue_rules::fetch(10, 256, 1) == 5u);
  BOOST_TEST(queue_rules::fetch(2, 256, 4) == 1u);
  BOOST_TEST(queue_rules::fetch(10, 1, 0) == 1u);
}

BOOST_AUTO_TEST_CASE(a_client_asks_for_one_then_follows_its_pace) {
  using clock = batch_sizer::clock;
  batch_sizer sizer(256, 2000us);
  auto t = clock::time_point{} + 1h;
  BOOST_TEST(sizer.next(t, 0) == 1u);  // the first ask
  // Fast (1 item per microsecond): at most doubles per ask, up to the limit.
  BOOST_TEST(sizer.next(t + 1us, 1) == 2u);
  BOOST_TEST(sizer.next(t + 3us, 2) == 4u);
  uint32_t size = 4;
  auto now = t + 3us;
  for (int i = 0; i < 20; ++i) {
    now += std::chrono::microseconds(size);
    size = sizer.next(now, size);
  }
  BOOST_TEST(size == 256u);
  // Slow (10 ms per item): one at a time, so it never sits on work others could do.
  now += 2560ms;
  BOOST_TEST(sizer.next(now, 256) == 1u);
  now += 10ms;
  BOOST_TEST(sizer.next(now, 1) == 1u);
  // Half a horizon per item: two.
  now += 2ms;
  BOOST_TEST(sizer.next(now, 2) == 2u);
}

BOOST_AUTO_TEST_CASE(a_zero_horizon_fixes_the_size) {
  batch_sizer sizer(8, 0us);
  BOOST_TEST(sizer.next(batch_sizer::clock::now(), 0) == 8u);
  BOOST_TEST(sizer.next(batch_sizer::clock::now(), 8) == 8u);
}

namespace {
// Owners are (process, client); items are strings.
using fetched = fetched_items<std::pair<int, int>, std::string>;
std::vector<std::string> items(std::initializer_list<const char*> names) { return {names.begin(), names.end()}; }
}  // namespace

BOOST_AUTO_TEST_CASE(fetched_items_are_found_by_number_and_a_batch_goes_once_all_are_settled) {
  fetched f;
  f.add(1, {7, 1}, items({"a", "b", "c"}));
  f.add(4, {8, 1}, items({"d"}));
  f.add(6, {7, 2}, items({"f", "g"}));  // 5 went to nobody here: another batch, given back
  BOOST_TEST(f.size() == 6u);
  BOOST_TEST(f.settle(2));
  BOOST_TEST(!f.settle(2));  // once
  BOOST_TEST(!f.settle(5));  // in no batch
  BOOST_TEST(!f.settle(8));  // past the last batch
  BOOST_TEST(!f.settle(0));
  BOOST_TEST(f.size() == 5u);
  BOOST_TEST(*f.take(3) == "c");
  BOOST_TEST(!f.take(3).has_value());
  BOOST_TEST(f.settle(1));  // the first batch is now empty, and gone
  BOOST_TEST(f.unsettled_of([](auto owner) { return owner.first == 7; }) == (std::vector<uint64_t>{6, 7}),
             boost::test_tools::per_element());
  BOOST_TEST(f.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_plain_batch_is_dropped_whole_and_a_joinable_one_waits_for_its_acknowledgements) {
  fetched f;
  f.add(10, {1, 1}, items({"a", "b"}));
  f.add(12, {1, 2}, items({"c", "d"}));
  f.drop(10);  // plain: asked past, settled
  BOOST_TEST(f.size() == 2u);
  BOOST_TEST(!f.settle(10));
  // The oldest of a process's items comes from a batch its client let go of.
  BOOST_TEST(f.oldest_handed([](auto owner) { return owner.first == 1; }) == 0u);
  f.mark_handed(12);
  BOOST_TEST(f.oldest_handed([](auto owner) { return owner.first == 1; }) == 12u);
  BOOST_TEST(f.settle(12));
  BOOST_TEST(f.oldest_handed([](auto owner) { return owner.first == 1; }) == 13u);
  BOOST_TEST(f.oldest_handed([](auto owner) { return owner.first == 2; }) == 0u);
  f.drop(99);  // unknown: nothing
  f.mark_handed(99);
  BOOST_TEST(f.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_run_of_acknowledgements_settles_its_unsettled_items_across_batches_and_counts_them) {
  fetched f;
  f.add(1, {7, 1}, items({"a", "b", "c"}));
  f.add(4, {7, 1}, items({"d", "e"}));  // the same client's next batch: numbers go on
  f.add(8, {7, 1}, items({"h", "i"}));  // 6 and 7 went to another client, settled since
  BOOST_TEST(f.settle(2) == 1u);
  // 2..4: one settled already, two now, across the first two batches.
  BOOST_TEST(f.settle(2, 3) == 2u);
  BOOST_TEST(f.size() == 4u);
  BOOST_TEST(f.unsettled_of([](auto) { return true; }) == (std::vector<uint64_t>{1, 5, 8, 9}),
             boost::test_tools::per_element());
  // Across the gap of numbers nobody here holds, into the last batch.
  BOOST_TEST(f.settle(5, 4) == 2u);
  BOOST_TEST(f.unsettled_of([](auto) { return true; }) == (std::vector<uint64_t>{1, 9}),
             boost::test_tools::per_element());
  BOOST_TEST(f.settle(10, 5) == 0u);  // past the end
  BOOST_TEST(f.settle(0, 2) == 1u);   // below the first: only 1 is known
  BOOST_TEST(f.settle(9, 1) == 1u);
  BOOST_TEST(f.size() == 0u);
  BOOST_TEST(f.unsettled_of([](auto) { return true; }).empty());
  BOOST_TEST(f.oldest_handed([](auto) { return true; }) == 0u);
}
