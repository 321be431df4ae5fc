// Semaphore, BoundedSemaphore, Event, Condition, Barrier and Value: Python's
// semantics between processes, and what happens when a participant dies.
// Longer than 450 lines on purpose: one suite per concept, so that `--run_test`
// and ctest's labels select a concept; its cases share this file's fixtures.
#define BOOST_TEST_MODULE sync
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include <future>
#include <set>
#include <thread>

using namespace actorproc;
using test_actors::table;
using Op = testing::SyncDo::Op;

namespace {

struct outcome {
  std::string text;
  uint64_t number = 0;
};

struct op_args {
  std::chrono::milliseconds timeout = 20s;
  uint32_t times = 1;
  std::chrono::milliseconds reacquire = 20s;
};

// Has `worker` (a syncer) do `op` on `target`, and says what came of it.
outcome perform(const actor_handle& worker, Op op, const actor_handle& target, op_args a = {}) {
  auto r = worker.request<testing::SyncDo, testing::Report>(
      [&](testing::SyncDo::Builder b) {
        b.setTarget(target.id());
        b.setOp(op);
        b.setTimeoutMillis(static_cast<uint32_t>(a.timeout.count()));
        b.setTimes(a.times);
        b.setReacquireMillis(static_cast<uint32_t>(a.reacquire.count()));
      },
      a.timeout * (a.times + 1) + a.reacquire + patience);
  if (!r) return {"request failed: " + to_string(r.error())};
  return {r->getText(), r->getReceived()};
}

// perform(), on a thread of its own: for an op that blocks until the test acts.
std::future<outcome> start(const actor_handle& worker, Op op, const actor_handle& target, op_args a = {}) {
  return std::async(std::launch::async, [=] { return perform(worker, op, target, a); });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// How many wait in the actor behind `c` (SIZE_MAX if it cannot say).
template <class Client>
std::size_t waiting(Client& c) {
  auto s = c.status();
  return s ? s->waiting : SIZE_MAX;
}
std::size_t waiting(barrier_client<actor_handle>& c) {
  auto n = c.n_waiting();
  return n ? *n : SIZE_MAX;
}

// Waits (bounded) until exactly `n` wait in the actor behind `c`.
template <class Client>
bool waits(Client& c, std::size_t n) {
  return eventually([&] { return waiting(c) == n; });
}

// start(), then waits until the op is the `nth` waiting in the actor behind `c`.
template <class Client>
std::future<outcome> start_queued(const actor_handle& worker, Op op, const actor_handle& target, Client& c,
                                  std::size_t nth, op_args a = {}) {
  auto f = start(worker, op, target, a);
  BOOST_REQUIRE(waits(c, nth));
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(semaphore)

BOOST_AUTO_TEST_CASE(it_admits_as_many_holders_as_its_value_and_times_out_the_others) {
  node n{table()};
  auto s = start_semaphore(n, {.value = 2}).value();
  semaphore_client<actor_handle> sem(s);
  auto a = n.spawn("syncer").value();
  BOOST_TEST(perform(a, Op::SEM_ACQUIRE, s, {.times = 2}).text == "ok");

  auto none = sem.try_acquire();
  BOOST_REQUIRE(none);
  BOOST_TEST(!*none);
  auto waited = sem.acquire(50ms);
  BOOST_REQUIRE(!waited);
  BOOST_TEST((waited.error().code == errc::timeout));

  BOOST_TEST(perform(a, Op::SEM_RELEASE, s).text == "ok");
  auto one = sem.try_acquire();
  BOOST_REQUIRE(one);
  BOOST_TEST(*one);
  auto status = sem.status();
  BOOST_REQUIRE(status);
  BOOST_TEST(status->value == 0u);
  BOOST_TEST(status->initial == 2u);
  BOOST_TEST(!status->bounded);
}

BOOST_AUTO_TEST_CASE(a_release_serves_the_waiting_acquires_in_arrival_order) {
  node n{table()};
  auto s = start_semaphore(n, {.value = 0}).value();
  semaphore_client<actor_handle> sem(s);
  auto first = n.spawn("syncer").value();
  auto second = n.spawn("syncer").value();
  auto first_got = start_queued(first, Op::SEM_ACQUIRE, s, sem, 1);
  auto second_got = start_queued(second, Op::SEM_ACQUIRE, s, sem, 2);

  BOOST_REQUIRE(sem.release());
  BOOST_TEST(first_got.get().text == "ok");
  BOOST_TEST(waiting(sem) == 1u);  // the second still waits
  BOOST_REQUIRE(sem.release());
  BOOST_TEST(second_got.get().text == "ok");
}

BOOST_AUTO_TEST_CASE(a_bounded_semaphore_refuses_a_release_above_its_initial_value) {
  node n{table()};
  semaphore_client<actor_handle> bounded(start_semaphore(n, {.value = 1, .bounded = true}).value());
  auto above = bounded.release();
  BOOST_REQUIRE(!above);
  BOOST_TEST((above.error().code == errc::invalid_argument));
  BOOST_REQUIRE(bounded.acquire(patience));
  BOOST_REQUIRE(bounded.release());
  auto twice = bounded.release();
  BOOST_REQUIRE(!twice);
  BOOST_TEST((twice.error().code == errc::invalid_argument));
  BOOST_TEST(bounded.status()->value == 1u);

  // A plain semaphore may rise above its initial value, as in Python.
  semaphore_client<actor_handle> plain(start_semaphore(n, {.value = 1}).value());
  BOOST_REQUIRE(plain.release());
  BOOST_TEST(plain.status()->value == 2u);
}

BOOST_AUTO_TEST_CASE(a_holder_that_dies_returns_its_permits_to_the_next_waiter) {
  node n{table()};
  auto s = start_semaphore(n, {.value = 1}).value();
  semaphore_client<actor_handle> sem(s);
  auto doomed = n.spawn("syncer").value();
  auto next = n.spawn("syncer").value();
  // The doomed actor takes the permit, then waits for a second one.
  auto doomed_got = start_queued(doomed, Op::SEM_ACQUIRE, s, sem, 1, {.times = 2});
  auto next_got = start_queued(next, Op::SEM_ACQUIRE, s, sem, 2);

  doomed.kill();
  BOOST_TEST(next_got.get().text == "ok");  // long before its 20 s: the dead holder's permit came back
  BOOST_TEST(contains(doomed_got.get().text, "actor_down"));
  auto status = sem.status();
  BOOST_REQUIRE(status);
  BOOST_TEST(status->value == 0u);
  BOOST_TEST(status->waiting == 0u);  // the dead actor's own wait is gone too
}

BOOST_AUTO_TEST_CASE(a_semaphore_used_as_a_signal_keeps_the_permits_of_the_dead) {
  node n{table()};
  auto s = start_semaphore(n, {.value = 1, .return_on_death = false}).value();
  semaphore_client<actor_handle> sem(s);
  auto doomed = n.spawn("syncer").value();
  auto doomed_got = start_queued(doomed, Op::SEM_ACQUIRE, s, sem, 1, {.times = 2});
  doomed.kill();
  BOOST_REQUIRE(waits(sem, 0));  // the semaphore has seen the death
  BOOST_TEST(sem.status()->value == 0u);
  BOOST_TEST(contains(doomed_got.get().text, "actor_down"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(event)

BOOST_AUTO_TEST_CASE(wait_answers_false_at_its_timeout_and_true_once_set) {
  node n{table()};
  event_client<actor_handle> ev(start_event(n).value());
  BOOST_TEST(!ev.is_set().value());
  auto early = ev.wait(50ms);
  BOOST_REQUIRE(early);  // a timeout is not an error
  BOOST_TEST(!*early);

  BOOST_REQUIRE(ev.set());
  BOOST_TEST(ev.is_set().value());
  BOOST_TEST(ev.wait(patience).value());  // at once: it is set
  BOOST_TEST(ev.wait(0ms).value());

  BOOST_REQUIRE(ev.clear());
  BOOST_TEST(!ev.is_set().value());
  BOOST_TEST(!ev.wait(0ms).value());
}

BOOST_AUTO_TEST_CASE(one_set_releases_every_waiting_actor_even_if_cleared_at_once) {
  node n{table()};
  auto e = start_event(n).value();
  event_client<actor_handle> ev(e);
  std::vector<std::future<outcome>> waiters;
  for (int i = 0; i < 3; ++i) waiters.push_back(start(n.spawn("syncer").value(), Op::EVENT_WAIT, e));
  BOOST_REQUIRE(waits(ev, 3));
  BOOST_REQUIRE(ev.set());
  BOOST_TEST(waiting(ev) == 0u);  // all answered by the set itself
  BOOST_REQUIRE(ev.clear());      // so a clear at once does not take it back, as in Python
  for (auto& w : waiters) BOOST_TEST(w.get().text == "true");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(condition)

BOOST_AUTO_TEST_CASE(wait_and_notify_need_the_lock) {
  node n{table()};
  auto c = start_condition(n).value();
  condition_client<actor_handle> cond(c);
  auto notify = cond.notify();
  BOOST_REQUIRE(!notify);
  BOOST_TEST((notify.error().code == errc::invalid_argument));
  auto wait = cond.wait(50ms);
  BOOST_REQUIRE(!wait);
  BOOST_TEST((wait.error().code == errc::invalid_argument));

  // Held by another actor: still not the caller's.
  auto holder = n.spawn("locker").value();
  auto took = holder.request<testing::LockTake, testing::Report>(
      [&](testing::LockTake::Builder b) {
        b.setLock(c.id());
        b.setTimeoutMillis(20000);
      },
      patience);
  BOOST_REQUIRE(took);
  BOOST_TEST(std::string(took->getText()) == "ok");
  auto not_mine = cond.notify_all();
  BOOST_REQUIRE(!not_mine);
  BOOST_TEST((not_mine.error().code == errc::invalid_argument));
  auto release = cond.release();
  BOOST_REQUIRE(!release);
  BOOST_TEST((release.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(a_wait_that_times_out_answers_false_holding_the_lock_at_its_depth) {
  node n{table()};
  condition_client<actor_handle> cond(start_condition(n).value());
  BOOST_REQUIRE(cond.acquire(patience));
  BOOST_REQUIRE(cond.acquire(patience));  // reentrant, like Python's default RLock
  auto woke = cond.wait(50ms);
  BOOST_REQUIRE(woke);
  BOOST_TEST(!woke->notified);
  BOOST_TEST(woke->lock.granted);
  BOOST_REQUIRE(cond.release());
  BOOST_REQUIRE(cond.release());
  auto third = cond.release();
  BOOST_REQUIRE(!third);
  BOOST_TEST((third.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(notify_wakes_a_waiter_which_answers_only_once_it_holds_the_lock_again) {
  node n{table()};
  auto c = start_condition(n).value();
  condition_client<actor_handle> cond(c);
  auto waiter = n.spawn("syncer").value();
  auto woke = start_queued(waiter, Op::COND_WAIT, c, cond, 1);
  BOOST_TEST(!cond.status()->held);  // the waiter released the lock to wait

  BOOST_REQUIRE(cond.acquire(patience));
  BOOST_TEST(cond.notify().value() == 1u);
  BOOST_TEST(waiting(cond) == 0u);
  // The waiter needs the lock the node holds: it cannot have answered.
  BOOST_TEST((woke.wait_for(0s) == std::future_status::timeout));
  BOOST_REQUIRE(cond.release());
  BOOST_TEST(woke.get().text == "notified");  // and its own release() then succeeded
}

BOOST_AUTO_TEST_CASE(notify_n_wakes_the_oldest_waits_and_notify_all_the_rest) {
  node n{table()};
  auto c = start_condition(n).value();
  condition_client<actor_handle> cond(c);
  std::vector<std::future<outcome>> woke;
  for (std::size_t i = 0; i < 3; ++i) {
    woke.push_back(start(n.spawn("syncer").value(), Op::COND_WAIT, c));
    BOOST_REQUIRE(waits(cond, i + 1));
  }
  BOOST_REQUIRE(cond.acquire(patience));
  BOOST_TEST(cond.notify(1).value() == 1u);
  BOOST_REQUIRE(cond.release());
  BOOST_TEST(woke[0].get().text == "notified");
  BOOST_TEST(waiting(cond) == 2u);

  BOOST_REQUIRE(cond.acquire(patience));
  BOOST_TEST(cond.notify_all().value() == 2u);
  BOOST_TEST(cond.notify_all().value() == 0u);  // nobody left: not an error
  BOOST_REQUIRE(cond.release());
  BOOST_TEST(woke[1].get().text == "notified");
  BOOST_TEST(woke[2].get().text == "notified");
}

BOOST_AUTO_TEST_CASE(a_holder_that_dies_releases_the_lock_and_the_next_holder_is_told) {
  node n{table()};
  auto c = start_condition(n).value();
  condition_client<actor_handle> cond(c);
  auto waiter = n.spawn("syncer").value();
  auto doomed = n.spawn("syncer").value();
  auto woke = start_queued(waiter, Op::COND_WAIT, c, cond, 1);
  // The doomed actor notifies and keeps the lock: the woken waiter waits for it.
  auto notified = perform(doomed, Op::COND_NOTIFY, c);
  BOOST_TEST(notified.text == "ok");
  BOOST_TEST(notified.number == 1u);
  BOOST_TEST((woke.wait_for(0s) == std::future_status::timeout));
  doomed.kill();
  BOOST_TEST(woke.get().text == "notified; died: signal 9 (SIGKILL)");  // long before its 20 s
}

BOOST_AUTO_TEST_CASE(a_wait_that_cannot_hold_the_lock_again_fails_with_timeout_without_it) {
  node n{table()};
  auto c = start_condition(n).value();
  condition_client<actor_handle> cond(c);
  auto waiter = n.spawn("syncer").value();
  auto woke = start_queued(waiter, Op::COND_WAIT, c, cond, 1, {.reacquire = 100ms});
  BOOST_REQUIRE(cond.acquire(patience));
  BOOST_TEST(cond.notify().value() == 1u);
  auto failed = woke.get().text;  // the node keeps the lock past the waiter's 100 ms
  BOOST_TEST(contains(failed, "error: timeout"));
  BOOST_TEST(contains(failed, "re-acquire"));
  BOOST_REQUIRE(cond.release());  // still the node's: the failed waiter never got it
  BOOST_TEST(!cond.status()->held);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(barrier)

BOOST_AUTO_TEST_CASE(n_parties_pass_together_with_distinct_arrival_indices_round_after_round) {
  node n{table()};
  constexpr uint32_t parties = 4;
  auto b = start_barrier(n, {.parties = parties}).value();
  barrier_client<actor_handle> bar(b);
  BOOST_TEST(bar.parties().value() == parties);
  std::vector<actor_handle> workers;
  for (uint32_t i = 0; i < parties; ++i) workers.push_back(n.spawn("syncer").value());
  for (int round = 0; round < 2; ++round) {
    std::vector<std::future<outcome>> passed;
    for (auto& w : workers) passed.push_back(start(w, Op::BARRIER_WAIT, b));
    std::set<uint64_t> indices;
    for (auto& p : passed) {
      auto o = p.get();
      BOOST_TEST(o.text == "ok");
      indices.insert(o.number);
    }
    BOOST_TEST(indices == (std::set<uint64_t>{0, 1, 2, 3}));
    BOOST_TEST(bar.n_waiting().value() == 0u);
  }
  BOOST_TEST(!bar.broken().value());
}

BOOST_AUTO_TEST_CASE(the_first_to_arrive_gets_0_and_the_last_parties_minus_1) {
  node n{table()};
  auto b = start_barrier(n, {.parties = 2}).value();
  barrier_client<actor_handle> bar(b);
  auto first = start_queued(n.spawn("syncer").value(), Op::BARRIER_WAIT, b, bar, 1);
  BOOST_TEST(bar.wait(patience).value() == 1u);
  BOOST_TEST(first.get().number == 0u);
  barrier_client<actor_handle> alone(start_barrier(n, {.parties = 1}).value());
  BOOST_TEST(alone.wait().value() == 0u);
}

BOOST_AUTO_TEST_CASE(a_wait_that_times_out_breaks_the_barrier_until_reset) {
  node n{table()};
  auto b = start_barrier(n, {.parties = 3}).value();
  barrier_client<actor_handle> bar(b);
  auto other = start_queued(n.spawn("syncer").value(), Op::BARRIER_WAIT, b, bar, 1);
  auto late = bar.wait(50ms);
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error().code == errc::broken));
  BOOST_TEST(contains(other.get().text, "broken"));  // every waiter fails
  BOOST_TEST(bar.broken().value());
  auto after = bar.wait(patience);  // and every later wait, at once
  BOOST_REQUIRE(!after);
  BOOST_TEST((after.error().code == errc::broken));

  BOOST_REQUIRE(bar.reset());
  BOOST_TEST(!bar.broken().value());
  auto w1 = start(n.spawn("syncer").value(), Op::BARRIER_WAIT, b);
  auto w2 = start(n.spawn("syncer").value(), Op::BARRIER_WAIT, b);
  BOOST_TEST(bar.wait(patience).has_value());
  BOOST_TEST(w1.get().text == "ok");
  BOOST_TEST(w2.get().text == "ok");
}

BOOST_AUTO_TEST_CASE(a_wait_without_a_timeout_uses_the_barriers_own) {
  node n{table()};
  barrier_client<actor_handle> bar(start_barrier(n, {.parties = 2, .timeout = 100ms}).value());
  BOOST_TEST((bar.status()->timeout == 100ms));
  auto alone = bar.wait();
  BOOST_REQUIRE(!alone);
  BOOST_TEST((alone.error().code == errc::broken));
}

BOOST_AUTO_TEST_CASE(abort_and_reset_fail_the_waiters_with_broken) {
  node n{table()};
  auto b = start_barrier(n, {.parties = 3}).value();
  barrier_client<actor_handle> bar(b);
  auto worker = n.spawn("syncer").value();

  auto aborted = start_queued(worker, Op::BARRIER_WAIT, b, bar, 1);
  BOOST_REQUIRE(bar.abort());
  BOOST_TEST(contains(aborted.get().text, "abort"));
  BOOST_TEST(bar.broken().value());
  BOOST_REQUIRE(bar.reset());

  auto reset = start_queued(worker, Op::BARRIER_WAIT, b, bar, 1);
  BOOST_REQUIRE(bar.reset());  // as in Python: the waiters fail, the barrier is not left broken
  BOOST_TEST(contains(reset.get().text, "broken"));
  BOOST_TEST(!bar.broken().value());
  BOOST_TEST(bar.n_waiting().value() == 0u);
}

BOOST_AUTO_TEST_CASE(a_party_that_dies_while_waiting_breaks_the_barrier) {
  node n{table()};
  auto b = start_barrier(n, {.parties = 3}).value();
  barrier_client<actor_handle> bar(b);
  auto doomed = n.spawn("syncer").value();
  auto survivor = n.spawn("syncer").value();
  auto doomed_wait = start_queued(doomed, Op::BARRIER_WAIT, b, bar, 1);
  auto survivor_wait = start_queued(survivor, Op::BARRIER_WAIT, b, bar, 2);
  doomed.kill();
  auto told = survivor_wait.get().text;  // long before its 20 s: Python's would hang
  BOOST_TEST(contains(told, "broken"));
  BOOST_TEST(contains(told, "signal 9"));
  BOOST_TEST(bar.broken().value());
  BOOST_TEST(contains(doomed_wait.get().text, "actor_down"));
}

BOOST_AUTO_TEST_CASE(a_barrier_needs_a_party) {
  node n{table()};
  auto none = start_barrier(n, {.parties = 0});
  BOOST_REQUIRE(!none);
  BOOST_TEST((none.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(value)

BOOST_AUTO_TEST_CASE(an_int64_value_gets_sets_adds_and_compares_and_sets) {
  node n{table()};
  value_client<int64_t, actor_handle> v(start_value<int64_t>(n, {.initial = 5}).value());
  BOOST_TEST(v.get().value() == 5);
  BOOST_REQUIRE(v.set(10));
  BOOST_TEST(v.add(-3).value() == 7);  // the new value
  BOOST_TEST(v.compare_and_set(7, 20).value());
  BOOST_TEST(!v.compare_and_set(7, 30).value());
  BOOST_TEST(v.get().value() == 20);

  BOOST_REQUIRE(v.set(INT64_MAX));
  auto overflow = v.add(1);
  BOOST_REQUIRE(!overflow);
  BOOST_TEST((overflow.error().code == errc::invalid_argument));
  BOOST_TEST(v.get().value() == INT64_MAX);  // unchanged
}

BOOST_AUTO_TEST_CASE(a_float64_value_and_one_used_as_the_other_type) {
  node n{table()};
  auto f = start_value<double>(n, {.initial = 0.1}).value();
  value_client<double, actor_handle> v(f);
  BOOST_TEST(v.get().value() == 0.1);  // exactly: the initial value travels as its bits
  BOOST_TEST(v.add(0.25).value() == 0.1 + 0.25);
  BOOST_TEST(v.compare_and_set(0.1 + 0.25, 2.5).value());
  BOOST_TEST(v.get().value() == 2.5);

  value_client<int64_t, actor_handle> wrong(f);
  auto add = wrong.add(1);
  BOOST_REQUIRE(!add);
  BOOST_TEST((add.error().code == errc::type_mismatch));
  auto get = wrong.get();
  BOOST_REQUIRE(!get);
  BOOST_TEST((get.error().code == errc::type_mismatch));
  BOOST_TEST(v.get().value() == 2.5);
}

BOOST_AUTO_TEST_CASE(a_counter_added_to_by_many_actors_at_once_sums_exactly) {
  node n{table()};
  constexpr uint32_t actors = 6, adds = 200;
  auto c = start_value<int64_t>(n, {}).value();
  value_client<int64_t, actor_handle> counter(c);
  std::vector<std::future<outcome>> runs;
  for (uint32_t i = 0; i < actors; ++i)
    runs.push_back(start(n.spawn("syncer").value(), Op::COUNTER_ADD, c, {.times = adds}));
  for (auto& r : runs) BOOST_TEST(r.get().text == "ok");
  BOOST_TEST(counter.get().value() == int64_t{actors * adds});  // no lost update, no lock
}

BOOST_AUTO_TEST_SUITE_END()
