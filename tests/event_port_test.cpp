// The event port alone (actor/event_port.hpp): timers, watches and the bounded
// wait, on pipes, without processes.
#define BOOST_TEST_MODULE event_port
#include <boost/test/unit_test.hpp>

#include <actorproc/actor/event_port.hpp>
#include <actorproc/base/unique_fd.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

using namespace actorproc;
using namespace std::chrono_literals;
using detail::event_port;

namespace {

struct pipe_pair {
  unique_fd read_end, write_end;
  pipe_pair() {
    int fds[2];
    BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
  void put(char byte) const { BOOST_REQUIRE(::write(write_end.get(), &byte, 1) == 1); }
};

// Runs every callback the last wait found ready; the order they ran in.
std::vector<int> run_ready(event_port& port) {
  std::vector<int> ran;
  while (auto ready = port.take_ready()) {
    ran.push_back(ready->fd);
    (*ready)();
  }
  return ran;
}

}  // namespace

BOOST_AUTO_TEST_CASE(timers_come_due_in_time_order_and_a_cancelled_one_never_does) {
  event_port port;
  auto now = event_port::clock::now();
  BOOST_TEST(port.until_next_timer(now).count() == -1);  // none: no bound
  BOOST_TEST(!port.take_due_timer(now));
  std::string ran;
  port.after(30ms, [&] { ran += 'b'; });
  auto cancelled = port.after(20ms, [&] { ran += 'x'; });
  port.after(10ms, [&] { ran += 'a'; });
  port.cancel(cancelled);
  port.cancel(cancelled);  // twice: no effect
  now = event_port::clock::now();  // after they were set: the first is due in at most 10 ms
  BOOST_TEST(!port.timer_due(now));
  BOOST_TEST(port.until_next_timer(now).count() > 0);
  BOOST_TEST(port.until_next_timer(now).count() <= 10);
  auto later = now + 1s;
  BOOST_TEST(port.until_next_timer(later).count() == 0);  // overdue: wait not at all
  while (auto fn = port.take_due_timer(later)) fn();
  BOOST_TEST(ran == "ab");
  BOOST_TEST(port.until_next_timer(later).count() == -1);
}

BOOST_AUTO_TEST_CASE(a_wait_without_anything_ready_returns_after_its_bound) {
  event_port port;
  pipe_pair p;
  port.watch(p.read_end.get(), POLLIN, [](short) { BOOST_FAIL("nothing was written"); });
  auto before = event_port::clock::now();
  BOOST_TEST(port.wait({}, 20ms) == 0);
  BOOST_TEST((event_port::clock::now() - before >= 19ms));  // poll(2) rounds up, never down
  BOOST_TEST(!port.take_ready());
}

BOOST_AUTO_TEST_CASE(a_ready_watch_is_marked_until_taken_and_polled_again_after) {
  event_port port;
  pipe_pair p;
  int calls = 0;
  short seen = 0;
  port.watch(p.read_end.get(), POLLIN, [&](short revents) {
    ++calls;
    seen = revents;
  });
  p.put('x');
  BOOST_TEST(port.wait({}, 1000ms) == 1);
  // Marked: a second wait does not poll it (its level would end every wait at once).
  BOOST_TEST(port.wait({}, 0ms) == 0);
  BOOST_TEST(run_ready(port) == std::vector<int>{p.read_end.get()});
  BOOST_TEST(calls == 1);
  BOOST_TEST((seen & POLLIN) != 0);
  // Level-triggered: the byte is still there, so the next wait finds it again.
  BOOST_TEST(port.wait({}, 1000ms) == 1);
  BOOST_TEST(run_ready(port).size() == 1u);
  BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(the_owners_descriptors_get_their_revents_in_place_beside_the_watches) {
  event_port port;
  pipe_pair owned, watched;
  bool called = false;
  port.watch(watched.read_end.get(), POLLIN, [&](short) { called = true; });
  owned.put('o');
  watched.put('w');
  std::array<pollfd, 2> own{{{owned.read_end.get(), POLLIN, 0}, {owned.write_end.get(), POLLOUT, 0}}};
  BOOST_TEST(port.wait(own, 1000ms) == 3);
  BOOST_TEST((own[0].revents & POLLIN) != 0);
  BOOST_TEST((own[1].revents & POLLOUT) != 0);
  BOOST_TEST(run_ready(port).size() == 1u);  // the owner's descriptors are never taken as watches
  BOOST_TEST(called);
}

BOOST_AUTO_TEST_CASE(watching_again_replaces_the_callback_and_forgets_the_old_mark) {
  event_port port;
  pipe_pair p;
  std::string ran;
  port.watch(p.read_end.get(), POLLIN, [&](short) { ran += "old"; });
  p.put('x');
  BOOST_TEST(port.wait({}, 1000ms) == 1);
  port.watch(p.read_end.get(), POLLIN, [&](short) { ran += "new"; });
  BOOST_TEST(!port.take_ready());  // the mark was for the old watch
  BOOST_TEST(port.wait({}, 1000ms) == 1);
  run_ready(port);
  BOOST_TEST(ran == "new");
}

BOOST_AUTO_TEST_CASE(a_callback_may_unwatch_its_own_descriptor_and_another_one) {
  event_port port;
  pipe_pair first, second;
  int calls = 0;
  auto both = [&](short) {
    ++calls;
    port.unwatch(first.read_end.get());
    port.unwatch(second.read_end.get());
  };
  port.watch(first.read_end.get(), POLLIN, both);
  port.watch(second.read_end.get(), POLLIN, both);
  first.put('1');
  second.put('2');
  BOOST_TEST(port.wait({}, 1000ms) == 2);
  run_ready(port);
  BOOST_TEST(calls == 1);  // the other ready watch went with its unwatch
  BOOST_TEST(!port.has_watches());
}

BOOST_AUTO_TEST_CASE(a_descriptor_closed_while_watched_is_reported_once_and_dropped) {
  event_port port;
  pipe_pair p;
  short seen = 0;
  port.watch(p.read_end.get(), POLLIN, [&](short revents) { seen = revents; });
  p.read_end.reset();
  BOOST_TEST(port.wait({}, 1000ms) == 1);
  BOOST_TEST(run_ready(port).size() == 1u);
  BOOST_TEST((seen & POLLNVAL) != 0);
  BOOST_TEST(!port.has_watches());
}

BOOST_AUTO_TEST_CASE(a_hang_up_is_reported_to_a_watch_for_input) {
  event_port port;
  pipe_pair p;
  short seen = 0;
  port.watch(p.read_end.get(), POLLIN, [&](short revents) { seen = revents; });
  p.write_end.reset();
  BOOST_TEST(port.wait({}, 1000ms) == 1);
  run_ready(port);
  BOOST_TEST((seen & POLLHUP) != 0);
}
