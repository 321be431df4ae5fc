// The host side's fast paths: a thread waiting for its request's answer reads
// it itself (node/link_reading.cpp), consecutive sends from the host are
// batched, the node's descriptor limit, and direct channels a worker asks for.
#define BOOST_TEST_MODULE host
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include <atomic>
#include <future>
#include <thread>

using namespace actorproc;
using test_actors::table;

BOOST_AUTO_TEST_CASE(an_answer_sent_just_before_the_actor_exits_is_still_the_answer) {
  // The waiting thread reads the answer while the reactor sees the exit: the
  // exit must wait for the answer, which is no_reply here (the handler stops
  // without replying), never actor_down.
  node n{table()};
  for (int i = 0; i < 20; ++i) {
    auto a = n.spawn("echo").value();
    auto r = a.request<testing::Crash, testing::Echo>(
        [](testing::Crash::Builder b) { b.setHow(testing::Crash::How::STOP_NORMALLY); }, patience);
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code == errc::no_reply), to_string(r.error()));
    auto reason = a.join(patience);
    BOOST_REQUIRE(reason);
    BOOST_TEST((reason->what == exit_reason::kind::normal));
  }
}

BOOST_AUTO_TEST_CASE(an_async_answer_read_by_a_waiting_thread_still_runs_on_the_reactor_thread) {
  node n{table()};
  auto a = n.spawn("echo").value();
  for (int i = 0; i < 10; ++i) {
    std::promise<std::thread::id> called_on;
    a.request_async<testing::Nap, testing::Echo>(
        [](testing::Nap::Builder b) { b.setMillis(50); },
        [&](expected<message<testing::Echo>> r) {
          BOOST_TEST(r.has_value());
          called_on.set_value(std::this_thread::get_id());
        });
    // Queued behind the nap: this thread reads the socket when the nap's answer comes.
    std::thread::id waiter;
    std::thread blocking([&] {
      waiter = std::this_thread::get_id();
      auto r = a.request<testing::Echo, testing::Echo>([](testing::Echo::Builder b) { b.setText("after"); },
                                                       patience);
      BOOST_TEST((r && std::string(r->getText()) == "after"));
    });
    blocking.join();
    auto future = called_on.get_future();
    BOOST_REQUIRE(future.wait_for(patience) == std::future_status::ready);
    auto id = future.get();
    BOOST_TEST((id != waiter));
    BOOST_TEST((id != std::this_thread::get_id()));
  }
}
