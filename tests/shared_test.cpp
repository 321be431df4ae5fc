// Manager-style shared state: dict and list actors, with Python's errors as values.
#define BOOST_TEST_MODULE shared
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include <actorproc/patterns/field_update.hpp>

#include <cstring>
#include <future>
#include <limits>

using namespace actorproc;
using test_actors::table;

namespace {
auto text(const std::string& t) {
  return [t](testing::Echo::Builder b) { b.setText(t); };
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_dict_sets_gets_deletes_and_lists_its_keys) {
  node n{table()};
  auto handle = start_dict(n, 2).value();
  dict_client<actor_handle> d(handle);
  BOOST_REQUIRE(d.set<testing::Echo>("b", text("bee")));
  BOOST_REQUIRE(d.set<testing::Echo>("a", text("ay")));
  BOOST_REQUIRE(d.set<testing::Echo>("a", text("ay again")));  // replacing needs no room
  BOOST_TEST(std::string(d.get<testing::Echo>("a")->value().getText()) == "ay again");
  BOOST_TEST(*d.keys() == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());

  auto full = d.set<testing::Echo>("c", text("sea"));
  BOOST_REQUIRE(!full);
  BOOST_TEST((full.error().code == errc::invalid_argument));
  auto missing = d.get<testing::Echo>("zzz");  // Python's KeyError
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == errc::invalid_argument));
  auto wrong_type = d.get<testing::Report>("a");
  BOOST_REQUIRE(!wrong_type);
  BOOST_TEST((wrong_type.error().code == errc::type_mismatch));
  BOOST_REQUIRE(d.erase("a"));
  BOOST_TEST(!d.erase("a"));
  BOOST_TEST(d.keys()->size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_list_appends_and_indexes_like_python) {
  node n{table()};
  auto handle = start_list(n, 3).value();
  list_client<actor_handle> l(handle);
  for (auto t : {"x", "y", "z"}) BOOST_REQUIRE(l.append<testing::Echo>(text(t)));
  BOOST_TEST(*l.size() == 3u);
  BOOST_TEST(std::string(l.at<testing::Echo>(0)->value().getText()) == "x");
  BOOST_TEST(std::string(l.at<testing::Echo>(-1)->value().getText()) == "z");
  auto out_of_range = l.at<testing::Echo>(3);  // Python's IndexError
  BOOST_REQUIRE(!out_of_range);
  BOOST_TEST((out_of_range.error().code == errc::invalid_argument));
  BOOST_TEST(!l.at<testing::Echo>(-4));
  auto full = l.append<testing::Echo>(text("w"));
  BOOST_REQUIRE(!full);
  BOOST_TEST((full.error().code == errc::invalid_argument));
}

// ---- atomic updates: the pure rule, then the dict actor

namespace {
using detail::field_op;

// A data section of `words` Int64 slots, all zero.
std::vector<std::byte> data_of(std::size_t words) { return std::vector<std::byte>(words * 8); }
int64_t slot(const std::vector<std::byte>& data, std::size_t i) {
  int64_t v;
  std::memcpy(&v, data.data() + i * 8, 8);
  return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(field_ops_apply_in_order_and_a_failed_compare_changes_nothing) {
  auto data = data_of(2);
  std::vector<field_op> ops{{0, 0, field_op::kind::add, 5, 0}, {0, 0, field_op::kind::add, 2, 0},
                            {1, 0, field_op::kind::set, -3, 0}};
  auto r = detail::apply_field_ops(data, ops);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->applied);
  BOOST_TEST(r->values == (std::vector<int64_t>{5, 7, -3}), boost::test_tools::per_element());
  BOOST_TEST(slot(data, 0) == 7);
  BOOST_TEST(slot(data, 1) == -3);

  std::vector<field_op> swap{{0, 0, field_op::kind::add, 1, 0}, {1, 0, field_op::kind::compare_and_set, 9, 4}};
  auto refused = detail::apply_field_ops(data, swap);
  BOOST_REQUIRE(refused);
  BOOST_TEST(!refused->applied);
  BOOST_TEST(refused->values == (std::vector<int64_t>{7, -3}), boost::test_tools::per_element());
  BOOST_TEST(slot(data, 0) == 7);  // the add before the failed compare did not happen either
}

BOOST_AUTO_TEST_CASE(field_ops_fail_whole_on_overflow_or_a_field_outside_the_value) {
  auto data = data_of(1);
  std::vector<field_op> overflow{{0, 0, field_op::kind::add, 1, 0},
                                 {0, 0, field_op::kind::add, std::numeric_limits<int64_t>::max(), 0}};
  auto r = detail::apply_field_ops(data, overflow);
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == errc::invalid_argument));
  BOOST_TEST(slot(data, 0) == 0);
  std::vector<field_op> outside{{1, 0, field_op::kind::set, 1, 0}};
  BOOST_TEST(!detail::apply_field_ops(data, outside));
  // A default is honoured: Cap'n Proto stores value XOR default.
  std::vector<field_op> with_default{{0, 5, field_op::kind::add, 1, 0}};
  auto d = detail::apply_field_ops(data, with_default);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->values[0] == 6);
  BOOST_TEST(slot(data, 0) == (6 ^ 5));
}

BOOST_AUTO_TEST_CASE(an_update_changes_int64_fields_of_one_entry_atomically_and_answers_their_values) {
  node n{table()};
  dict_client<actor_handle> d(start_dict(n, 3).value());
  auto first = d.add<testing::Tally>("t", "count", 2);  // created with T's defaults
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : to_string(first.error())));
  BOOST_TEST(*first == 2);
  auto both = d.update<testing::Tally>("t", {dict_op::add("count", 3), dict_op::add("other", -1), dict_op::add("bumped", 1)});
  BOOST_REQUIRE(both);
  BOOST_TEST(both->applied);
  BOOST_TEST(both->values == (std::vector<int64_t>{5, -1, 6}), boost::test_tools::per_element());
  auto swapped = d.update<testing::Tally>("t", {dict_op::compare_and_set("count", 5, 50)});
  BOOST_REQUIRE(swapped);
  BOOST_TEST(swapped->applied);
  auto not_swapped = d.update<testing::Tally>("t", {dict_op::compare_and_set("count", 5, 60)});
  BOOST_REQUIRE(not_swapped);
  BOOST_TEST(!not_swapped->applied);
  BOOST_TEST(not_swapped->values[0] == 50);
  auto seen = d.get<testing::Tally>("t");
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->value().getCount() == 50);
  BOOST_TEST(seen->value().getBumped() == 6);
}

BOOST_AUTO_TEST_CASE(an_update_fails_on_an_unknown_key_another_type_a_wrong_field_overflow_or_a_full_dict) {
  node n{table()};
  dict_client<actor_handle> d(start_dict(n, 2).value());
  BOOST_REQUIRE(d.set<testing::Echo>("echo", text("e")));
  auto unknown = d.update<testing::Tally>("nope", {dict_op::add("count", 1)});  // create is off
  BOOST_REQUIRE(!unknown);
  BOOST_TEST((unknown.error().code == errc::invalid_argument));
  auto other_type = d.add<testing::Tally>("echo", "count", 1);
  BOOST_REQUIRE(!other_type);
  BOOST_TEST((other_type.error().code == errc::type_mismatch));
  auto not_int64 = d.add<testing::Tally>("t", "label", 1);
  BOOST_REQUIRE(!not_int64);
  BOOST_TEST((not_int64.error().code == errc::invalid_argument));
  BOOST_TEST(!d.add<testing::Tally>("t", "nosuchfield", 1));
  BOOST_REQUIRE(d.update<testing::Tally>("t", {dict_op::set("count", std::numeric_limits<int64_t>::max())}, true));
  auto overflow = d.add<testing::Tally>("t", "count", 1);
  BOOST_REQUIRE(!overflow);
  BOOST_TEST((overflow.error().code == errc::invalid_argument));
  auto full = d.add<testing::Tally>("third", "count", 1);
  BOOST_REQUIRE(!full);
  BOOST_TEST((full.error().code == errc::invalid_argument));
  BOOST_TEST(d.keys()->size() == 2u);
}

BOOST_AUTO_TEST_CASE(concurrent_atomic_updates_from_three_actors_lose_nothing) {
  // Requests from two actors (one connected), one-way from a third; the
  // final count is exact. Each worker's own get sees at least its own adds.
  node n{table()};
  auto dict = start_dict(n).value();
  std::vector<actor_handle> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(n.spawn("dict_worker").value());
  BOOST_REQUIRE(n.connect(workers[1], dict));
  BOOST_REQUIRE(n.connect(workers[2], dict));
  const uint32_t each = 2000;
  std::vector<std::promise<std::string>> done(3);
  for (int i = 0; i < 3; ++i) {
    workers[i].request_async<testing::DictWork, testing::Report>(
        [&](testing::DictWork::Builder w) {
          w.setDict(dict.id());
          w.setKey("n");
          w.setCount(each);
          w.setOneWay(i == 2);
        },
        [&done, i, each](expected<message<testing::Report>> r) {
          std::string outcome = !r                                 ? to_string(r.error())
                                : !std::string(r->getText()).empty() ? std::string(r->getText())
                                : r->getReceived() < each           ? "saw " + std::to_string(r->getReceived())
                                                                    : "ok";
          done[i].set_value(outcome);
        });
  }
  for (int i = 0; i < 3; ++i) {
    auto f = done[i].get_future();
    BOOST_REQUIRE(f.wait_for(patience) == std::future_status::ready);
    BOOST_TEST(f.get() == "ok", "worker " << i);
  }
  auto total = dict_client<actor_handle>(dict).get<testing::Tally>("n");
  BOOST_REQUIRE(total);
  BOOST_TEST(total->value().getCount() == 3 * each);
}

BOOST_AUTO_TEST_CASE(one_way_updates_are_seen_by_the_same_clients_next_request_and_failures_by_its_sync) {
  node n{table()};
  auto dict = start_dict(n).value();
  dict_client<actor_handle> d(dict);
  for (int i = 0; i < 100; ++i) BOOST_REQUIRE(d.add_nowait<testing::Tally>("n", "count", 1));
  auto seen = d.get<testing::Tally>("n");  // the next request: after all 100
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->value().getCount() == 100);
  BOOST_REQUIRE(d.set<testing::Echo>("echo", text("e")));
  BOOST_REQUIRE(d.add_nowait<testing::Tally>("echo", "count", 1));  // the dict cannot apply it
  auto synced = d.sync();
  BOOST_REQUIRE(!synced);
  BOOST_TEST((synced.error().code == errc::type_mismatch));
  BOOST_TEST(synced.error().message.find("one-way update failed") != std::string::npos, synced.error().message);
  BOOST_TEST(d.sync().has_value());  // reported once
  // Through a worker too, where sends are batched: its get sees its own adds.
  auto w = n.spawn("dict_worker").value();
  auto r = w.request<testing::DictWork, testing::Report>(
      [&](testing::DictWork::Builder b) {
        b.setDict(dict.id());
        b.setKey("m");
        b.setCount(500);
        b.setOneWay(true);
      },
      patience);
  BOOST_REQUIRE(r);
  BOOST_TEST(std::string(r->getText()).empty(), r->getText().cStr());
  BOOST_TEST(r->getReceived() == 500u);
}
