// Pipes: direct channels between the node and actors, with Python Pipe's rules.
#define BOOST_TEST_MODULE pipe
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include <thread>

using namespace actorproc;
using test_actors::table;

namespace {

void send_text(pipe_end& end, const std::string& text) {
  BOOST_REQUIRE(end.send<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); }));
}

std::string receive_text(pipe_end& end) {
  auto m = end.receive<testing::Echo>(patience);
  return m ? std::string(m->getText()) : "error: " + to_string(m.error());
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_actor_given_a_pipe_end_at_spawn_talks_over_it_in_order) {
  node n{table()};
  auto [mine, theirs] = make_pipe().value();
  spawn_options with_pipe;
  with_pipe.fds.push_back(theirs.release());
  auto p = n.spawn("piper", std::move(with_pipe)).value();
  for (int i = 0; i < 200; ++i) send_text(mine, "m" + std::to_string(i));
  auto served =
      p.request<testing::PipeServe, testing::Report>([](testing::PipeServe::Builder b) { b.setCount(200); }, patience);
  BOOST_REQUIRE(served);
  BOOST_TEST(served->getReceived() == 200u);
  for (int i = 0; i < 200; ++i) BOOST_REQUIRE(receive_text(mine) == "m" + std::to_string(i));
  BOOST_TEST(p.stats().messages_in == 1u);  // the 400 pipe messages never went through the node
}

BOOST_AUTO_TEST_CASE(a_pipe_end_can_be_handed_to_a_running_actor) {
  node n{table()};
  auto [mine, theirs] = make_pipe().value();
  auto p = n.spawn("piper").value();
  std::vector<unique_fd> fds;
  fds.push_back(theirs.release());
  BOOST_REQUIRE(p.send_with_fds<testing::PipeAdopt>(std::move(fds)));
  send_text(mine, "late");
  auto served =
      p.request<testing::PipeServe, testing::Report>([](testing::PipeServe::Builder b) { b.setCount(1); }, patience);
  BOOST_REQUIRE(served);
  BOOST_TEST(served->getReceived() == 1u);
  BOOST_TEST(receive_text(mine) == "late");
}

BOOST_AUTO_TEST_CASE(the_other_end_dying_is_end_of_stream_after_what_it_sent) {
  node n{table()};
  auto [mine, theirs] = make_pipe().value();
  spawn_options with_pipe;
  with_pipe.fds.push_back(theirs.release());
  auto p = n.spawn("piper", std::move(with_pipe)).value();
  send_text(mine, "one");
  auto served =
      p.request<testing::PipeServe, testing::Report>([](testing::PipeServe::Builder b) { b.setCount(1); }, patience);
  BOOST_REQUIRE(served);
  p.kill();
  BOOST_REQUIRE(p.join(patience));
  BOOST_TEST(receive_text(mine) == "one");  // sent before it died: still delivered
  auto after = mine.receive<testing::Echo>(patience);
  BOOST_REQUIRE(!after);
  BOOST_TEST((after.error().code == errc::end_of_stream));
  auto send_after = mine.send<testing::Echo>();
  BOOST_REQUIRE(!send_after);
  BOOST_TEST((send_after.error().code == errc::end_of_stream));
}

BOOST_AUTO_TEST_CASE(closing_an_end_delivers_what_was_sent_then_end_of_stream) {
  auto [a, b] = make_pipe().value();
  send_text(a, "x");
  send_text(a, "y");
  a.close();
  BOOST_TEST(b.poll());
  BOOST_TEST(receive_text(b) == "x");
  BOOST_TEST(receive_text(b) == "y");
  BOOST_TEST(b.poll());  // end_of_stream is ready to be reported
  auto eof = b.receive<testing::Echo>(patience);
  BOOST_REQUIRE(!eof);
  BOOST_TEST((eof.error().code == errc::end_of_stream));
}

BOOST_AUTO_TEST_CASE(a_one_way_pipe_receives_on_its_first_end_and_sends_on_its_second) {
  auto [reader, writer] = make_pipe(false).value();
  auto wrong_send = reader.send<testing::Echo>();
  BOOST_REQUIRE(!wrong_send);
  BOOST_TEST((wrong_send.error().code == errc::invalid_argument));
  auto wrong_receive = writer.receive<testing::Echo>(10ms);
  BOOST_REQUIRE(!wrong_receive);
  BOOST_TEST((wrong_receive.error().code == errc::invalid_argument));
  send_text(writer, "down the pipe");
  BOOST_TEST(receive_text(reader) == "down the pipe");
}

BOOST_AUTO_TEST_CASE(receive_times_out_poll_waits_and_types_are_checked) {
  auto [a, b] = make_pipe().value();
  BOOST_TEST(!b.poll());
  auto nothing = b.receive<testing::Echo>(20ms);
  BOOST_REQUIRE(!nothing);
  BOOST_TEST((nothing.error().code == errc::timeout));
  std::thread later([&a] { send_text(a, "now"); });
  BOOST_TEST(b.poll(patience));
  later.join();
  auto wrong = b.receive<testing::Report>(patience);
  BOOST_REQUIRE(!wrong);
  BOOST_TEST((wrong.error().code == errc::type_mismatch));
}
