// Ports: an external command as a supervised actor (stdin and stdout as
// messages, its exit as the port's exit reason), and run_command().
// Every wait is for an event or a state, bounded by `patience`.
// Longer than 450 lines on purpose: one suite per concept, so that `--run_test`
// and ctest's labels select a concept; its cases share this file's fixtures.
#define BOOST_TEST_MODULE port
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include "helpers.hpp"

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <thread>

using namespace actorproc;
using test_actors::table;

namespace {

using port = port_client<actor_handle>;

actor_handle start(node& n, port_options options) {
  auto p = start_port(n, std::move(options));
  BOOST_REQUIRE_MESSAGE(p, (p ? "" : to_string(p.error())));
  return *p;
}

std::vector<std::string> sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

std::string read_line(port& p) {
  auto line = p.read(patience);
  return line ? *line : "error: " + to_string(line.error());
}

// After the last frame, read() fails with end_of_stream while the port lives,
// with actor_down once it has exited (whichever comes first is a race).
bool at_end(port& p) {
  auto line = p.read(patience);
  return !line && (line.error().code == errc::end_of_stream || line.error().code == errc::actor_down);
}

exit_reason join(const actor_handle& h) {
  auto why = h.join(patience);
  BOOST_REQUIRE_MESSAGE(why, "the port did not exit");
  return *why;
}

// Waits until the port's status satisfies `done`, each check a round trip to it.
template <class F>
port_status status_when(port& p, F done) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto s = p.status();
    BOOST_REQUIRE(s);
    if (done(*s) || std::chrono::steady_clock::now() > deadline) return *s;
    std::this_thread::yield();
  }
}

}  // namespace

// --- the port actor --------------------------------------------------------

BOOST_AUTO_TEST_CASE(lines_written_to_stdin_come_back_from_stdout_in_order) {
  node n{table()};
  auto h = start(n, {.argv = {"cat"}});
  port cat(h);
  for (std::string line : {"alpha", "beta", "", "gamma delta"}) BOOST_REQUIRE(cat.write(line, patience));
  for (std::string line : {"alpha", "beta", "", "gamma delta"}) BOOST_TEST(read_line(cat) == line);
  BOOST_REQUIRE(cat.close_input(patience));
  BOOST_TEST(at_end(cat));
  BOOST_TEST(to_string(join(h)) == "normal");
}

BOOST_AUTO_TEST_CASE(closing_stdin_makes_the_command_see_end_of_file_and_later_writes_fail) {
  node n{table()};
  auto h = start(n, {.argv = sh("n=0; while read l; do n=$((n+1)); done; echo \"eof after $n lines\"")});
  port counter(h);
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(counter.write("line", patience));
  BOOST_REQUIRE(counter.close_input(patience));
  BOOST_REQUIRE(counter.close_input(patience));  // closing twice is no error, as in Python
  auto late = counter.write("too late", patience);
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error().code == errc::invalid_argument));
  BOOST_TEST(read_line(counter) == "eof after 3 lines");
  BOOST_TEST(to_string(join(h)) == "normal");
}

BOOST_AUTO_TEST_CASE(a_last_line_without_newline_is_still_a_frame) {
  node n{table()};
  auto h = start(n, {.argv = {"printf", "one\\ntwo"}});
  port p(h);
  BOOST_TEST(read_line(p) == "one");
  BOOST_TEST(read_line(p) == "two");
  BOOST_TEST(at_end(p));
  BOOST_TEST(to_string(join(h)) == "normal");
}

BOOST_AUTO_TEST_CASE(length_prefixed_frames_carry_any_bytes_both_ways) {
  node n{table()};
  auto h = start(n, {.argv = {"cat"}, .framing = port_framing::length_prefixed});
  port cat(h);
  std::string binary("a\0b\nc\xff", 6);
  std::vector<std::string> frames{"hello", "two\nlines", "", binary, std::string(40000, 'z')};
  for (const auto& f : frames) BOOST_REQUIRE(cat.write(f, patience));
  for (const auto& f : frames) BOOST_TEST((read_line(cat) == f));
  BOOST_REQUIRE(cat.close_input(patience));
  BOOST_TEST(to_string(join(h)) == "normal");

  // A frame the command writes itself: big-endian length 5, then "hello".
  auto printf_port =
      start(n, {.argv = {"printf", "\\000\\000\\000\\005hello"}, .framing = port_framing::length_prefixed});
  port p(printf_port);
  BOOST_TEST(read_line(p) == "hello");
  BOOST_TEST(at_end(p));
}

BOOST_AUTO_TEST_CASE(the_commands_exit_status_is_the_ports_exit_reason) {
  node n{table()};
  auto zero = start(n, {.argv = {"true"}});
  BOOST_TEST(to_string(join(zero)) == "normal");

  auto seven = start(n, {.argv = sh("echo bye; exit 7")});
  port p(seven);
  BOOST_TEST(read_line(p) == "bye");
  BOOST_TEST((join(seven) == exit_reason::exited(7)));
}

BOOST_AUTO_TEST_CASE(a_signal_that_kills_the_command_is_the_ports_exit_reason) {
  node n{table()};
  auto h = start(n, {.argv = {"cat"}});
  port cat(h);
  BOOST_REQUIRE(cat.signal(SIGKILL));
  BOOST_TEST((join(h) == exit_reason::killed(SIGKILL)));

  auto self_killed = start(n, {.argv = sh("kill -TERM $$")});
  BOOST_TEST((join(self_killed) == exit_reason::killed(SIGTERM)));
}

BOOST_AUTO_TEST_CASE(a_command_that_cannot_be_started_fails_the_spawn_clearly) {
  node n{table()};
  auto missing = start_port(n, {.argv = {"actorproc-no-such-command"}});
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == errc::launch_failed));
  BOOST_TEST(to_string(missing.error()).find("cannot execute 'actorproc-no-such-command': No such file or directory") !=
                 std::string::npos,
             to_string(missing.error()));

  auto not_executable = start_port(n, {.argv = {"/etc/passwd"}});
  BOOST_REQUIRE(!not_executable);
  BOOST_TEST(to_string(not_executable.error()).find("Permission denied") != std::string::npos);

  auto bad_cwd = start_port(n, {.argv = {"true"}, .cwd = "/actorproc/no/such/dir"});
  BOOST_REQUIRE(!bad_cwd);
  BOOST_TEST(to_string(bad_cwd.error()).find("cannot change to directory") != std::string::npos);

  auto empty = start_port(n, {});
  BOOST_REQUIRE(!empty);
  BOOST_TEST((empty.error().code == errc::invalid_argument));
  BOOST_TEST(n.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_read_times_out_when_the_command_writes_nothing) {
  node n{table()};
  auto h = start(n, {.argv = {"cat"}});
  port cat(h);
  auto nothing = cat.read(50ms);
  BOOST_REQUIRE(!nothing);
  BOOST_TEST((nothing.error().code == errc::timeout));
  BOOST_REQUIRE(cat.write("still here", patience));  // the port goes on
  BOOST_TEST(read_line(cat) == "still here");
}

BOOST_AUTO_TEST_CASE(stderr_is_merged_into_stdout_or_discarded_on_request) {
  node n{table()};
  auto merged = start(n, {.argv = sh("echo out; echo err >&2; echo out2"), .err = port_stderr::to_stdout});
  port m(merged);
  BOOST_TEST(read_line(m) == "out");
  BOOST_TEST(read_line(m) == "err");
  BOOST_TEST(read_line(m) == "out2");

  auto discarded = start(n, {.argv = sh("echo err >&2; echo out"), .err = port_stderr::discard});
  port d(discarded);
  BOOST_TEST(read_line(d) == "out");
  BOOST_TEST(at_end(d));
}

BOOST_AUTO_TEST_CASE(the_command_gets_the_given_environment_and_directory) {
  node n{table()};
  auto h = start(n, {.argv = sh("pwd; echo \"$GREETING\"; env | wc -l"),
                     .env = std::vector<std::string>{"GREETING=hi there"},
                     .cwd = "/tmp"});
  port p(h);
  BOOST_TEST(read_line(p) == "/tmp");
  BOOST_TEST(read_line(p) == "hi there");
  // GREETING, plus what sh sets itself (PWD, and SHLVL or _ depending on the shell): no inherited variable.
  auto count = read_line(p);
  BOOST_TEST(std::stoi(count) <= 4, count);
}

BOOST_AUTO_TEST_CASE(the_command_inherits_only_its_stdio) {
  node n{table()};
  auto h = start(n, {.argv = {"ls", "/proc/self/fd"}});
  port p(h);
  std::vector<std::string> fds;
  for (auto line = p.read(patience); line; line = p.read(patience)) fds.push_back(*line);
  // 0, 1, 2 and the directory ls itself opened.
  BOOST_TEST(fds.size() == 4u);
  BOOST_TEST(fds.front() == "0");
}

BOOST_AUTO_TEST_CASE(a_line_longer_than_max_frame_ends_the_port_with_protocol_error_and_kills_the_command) {
  node n{table()};
  auto h = start(n, {.argv = sh("echo $$; read go; head -c 5000 /dev/zero | tr '\\0' x; echo; exec sleep 1000"),
                     .max_frame = 1000});
  port p(h);
  pid_t command = std::stoi(read_line(p));
  BOOST_REQUIRE(p.write("go", patience));
  auto why = join(h);
  BOOST_TEST((why.what == exit_reason::kind::protocol_error));
  BOOST_TEST(why.detail.find("longer than max_frame") != std::string::npos, why.detail);
  BOOST_TEST(test_helpers::wait_gone(command, patience));

  auto framed = start(n, {.argv = {"printf", "\\001\\000\\000\\000"},  // announces 16 MiB
                          .framing = port_framing::length_prefixed,
                          .max_frame = 1000});
  BOOST_TEST((join(framed).what == exit_reason::kind::protocol_error));

  auto writer = start(n, {.argv = {"cat"}, .max_frame = 10});
  auto too_long = port(writer).write("eleven char", patience);
  BOOST_REQUIRE(!too_long);
  BOOST_TEST((too_long.error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(backpressure_stops_reading_stdout_once_max_buffered_frames_wait) {
  node n{table()};
  auto h = start(n, {.argv = {"yes"}, .max_buffered = 8});
  port yes(h);
  auto paused = status_when(yes, [](const port_status& s) { return s.reading_paused; });
  BOOST_REQUIRE(paused.reading_paused);
  BOOST_TEST(paused.buffered_frames == 8u);
  BOOST_TEST(paused.running);  // blocked in write(2), not dead
  for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(read_line(yes) == "y");
  auto again = status_when(yes, [](const port_status& s) { return s.reading_paused; });
  BOOST_TEST(again.buffered_frames <= 8u);
  pid_t command = again.pid;
  h.stop(patience);
  BOOST_TEST(to_string(join(h)) == "normal");
  BOOST_TEST(test_helpers::wait_gone(command, patience));  // stopped with the port
}

BOOST_AUTO_TEST_CASE(writes_beyond_max_pending_input_fail_at_once_with_mailbox_full) {
  node n{table()};
  // sleep never reads its stdin: the pipe fills, then the port's input buffer.
  auto h = start(n, {.argv = {"sleep", "1000"}, .max_frame = 1000, .max_pending_input = 4096});
  port p(h);
  std::string kilobyte(999, 'k');
  int accepted = 0;
  for (; accepted < 1000; ++accepted) {
    auto w = p.write(kilobyte, 2s);  // returns once in the pipe; the first that is not times out
    if (!w) {
      BOOST_REQUIRE((w.error().code == errc::timeout));
      break;
    }
  }
  BOOST_TEST(accepted >= 60);  // a 64 KiB pipe, then waiting
  errc last = errc::timeout;
  for (int i = 0; i < 20 && last == errc::timeout; ++i) last = p.write(kilobyte, 10ms).error().code;
  BOOST_TEST((last == errc::mailbox_full));
  auto s = p.status();
  BOOST_REQUIRE(s);
  BOOST_TEST(s->pending_input <= 4096u);
  BOOST_TEST(s->pending_input > 3000u);
}

BOOST_AUTO_TEST_CASE(a_write_after_the_command_closed_its_stdin_fails_with_end_of_stream) {
  node n{table()};
  auto h = start(n, {.argv = sh("exec 0<&-; echo closed; exec sleep 1000")});
  port p(h);
  BOOST_TEST(read_line(p) == "closed");
  auto w = p.write("anyone?", patience);
  BOOST_REQUIRE(!w);
  BOOST_TEST((w.error().code == errc::end_of_stream));
  BOOST_TEST(!p.status()->input_open);
  BOOST_TEST(p.status()->running);  // a broken stdin does not end the port
}

BOOST_AUTO_TEST_CASE(output_is_pushed_to_a_subscriber_then_the_end) {
  node n{table()};
  auto listener = n.spawn("port_listener").value();
  auto h = start(n, {.argv = {"cat"}, .subscriber = listener.ref()});
  port cat(h);
  auto pull = cat.read(patience);
  BOOST_REQUIRE(!pull);
  BOOST_TEST((pull.error().code == errc::invalid_argument));  // output goes to the subscriber
  for (std::string line : {"x", "y", "z"}) BOOST_REQUIRE(cat.write(line, patience));
  BOOST_REQUIRE(cat.close_input(patience));
  auto got = listener.request<testing::Stats, testing::Report>({}, patience);  // answered after PortEnd
  BOOST_REQUIRE(got);
  BOOST_TEST(std::string(got->getText()) == "x|y|z|");
  BOOST_TEST(to_string(join(h)) == "normal");
}

BOOST_AUTO_TEST_CASE(a_stalled_subscriber_holds_the_port_back_and_then_gets_everything) {
  node n{table()};
  auto listener = n.spawn("port_listener").value();
  auto h = start(n, {.argv = sh("read go; exec yes"), .max_buffered = 8, .subscriber = listener.ref()});
  port yes(h);
  // A direct channel: the frames bypass the node, so the port still answers
  // status() while they wait (through the node, a stalled subscriber would hold
  // back every message of the port, as for any sender).
  BOOST_REQUIRE(n.connect(h, listener));
  BOOST_REQUIRE(listener.signal(SIGSTOP));  // reads nothing: the channel fills, then the port's buffers
  BOOST_REQUIRE(yes.write("go", patience));
  auto paused = status_when(yes, [](const port_status& s) { return s.reading_paused; });
  BOOST_REQUIRE(paused.reading_paused);
  BOOST_TEST(paused.buffered_frames == 8u);
  BOOST_REQUIRE(yes.signal(SIGKILL));  // what it wrote stays in the pipe
  BOOST_REQUIRE(listener.signal(SIGCONT));
  auto got = listener.request<testing::Stats, testing::Report>({}, patience);  // answered after PortEnd
  BOOST_REQUIRE(got);
  std::string text = got->getText();
  BOOST_TEST(got->getReceived() > 8u);
  BOOST_TEST(text.size() == 2 * got->getReceived());  // "y|" each: nothing lost or torn
  BOOST_TEST(text.find_first_not_of("y|") == std::string::npos);
  BOOST_TEST((join(h) == exit_reason::killed(SIGKILL)));
}

BOOST_AUTO_TEST_CASE(output_outlives_the_command_until_it_is_read) {
  node n{table()};
  auto h = start(n, {.argv = sh("echo last words; exit 5")});
  port p(h);
  auto done = status_when(p, [](const port_status& s) { return !s.running; });
  BOOST_REQUIRE(!done.running);
  BOOST_TEST(done.pid == 0);
  auto late = p.signal(SIGTERM);
  BOOST_REQUIRE(!late);
  BOOST_TEST((late.error().code == errc::invalid_argument));  // the command is gone
  BOOST_TEST(read_line(p) == "last words");                   // its output is not
  BOOST_TEST((join(h) == exit_reason::exited(5)));
}

BOOST_AUTO_TEST_CASE(output_nobody_reads_is_dropped_after_linger) {
  node n{table()};
  auto h = start(n, {.argv = sh("echo unread; exit 4"), .linger = 50ms});
  BOOST_TEST((join(h) == exit_reason::exited(4)));  // nobody reads: the port exits all the same
}

BOOST_AUTO_TEST_CASE(an_actor_talks_to_a_port_from_its_own_process) {
  node n{table()};
  auto h = start(n, {.argv = {"cat"}});
  auto user = n.spawn("port_user").value();
  auto r = user.request<testing::PortChat, testing::Report>(
      [&](testing::PortChat::Builder b) {
        b.setPort(h.id());
        auto lines = b.initLines(2);
        lines.set(0, "l1");
        lines.set(1, "l2");
      },
      patience + patience);
  BOOST_REQUIRE(r);
  std::string text = r->getText();
  BOOST_TEST((text == "l1|l2|end_of_stream" || text == "l1|l2|actor_down"), text);
  BOOST_TEST(to_string(join(h)) == "normal");
}

BOOST_AUTO_TEST_CASE(the_command_dies_with_its_port) {
  node n{table()};
  auto h = start(n, {.argv = {"sleep", "1000"}});
  port p(h);
  pid_t command = p.status()->pid;
  BOOST_REQUIRE(command > 0);
  h.kill();  // no destructor runs: PR_SET_PDEATHSIG does the work
  BOOST_TEST(test_helpers::wait_gone(command, patience));
  BOOST_TEST((join(h) == exit_reason::killed(SIGKILL)));
}

BOOST_AUTO_TEST_CASE(a_supervised_port_is_restarted_when_its_command_is_killed) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s",
                                   .intensity = 3,
                                   .children = {{.id = "cmd",
                                                 .actor_type = port_type,
                                                 .args = port_args({.argv = sh("echo $$; exec cat")}),
                                                 .while_restarting = restarting_policy::buffer}}})
                 .value();
  port_client<named_actor> cmd(sup.child("cmd"));
  auto first = cmd.read(patience);
  BOOST_REQUIRE(first);
  auto incarnation = sup.child("cmd").current().value();
  BOOST_REQUIRE(::kill(std::stoi(*first), SIGKILL) == 0);  // killed from outside, not through the port
  BOOST_TEST((join(incarnation) == exit_reason::killed(SIGKILL)));
  // The supervisor hears of the exit on its own thread; each check asks it.
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (sup.which_children().at(0).restarts == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }

  auto second = cmd.read(patience);  // waits for the new incarnation to be ready (restarting_policy::buffer)
  BOOST_REQUIRE_MESSAGE(second, (second ? "" : to_string(second.error())));
  BOOST_TEST(*second != *first);  // a new command
  BOOST_TEST(sup.which_children().at(0).restarts == 1u);
  BOOST_TEST((sup.restart_log().at(0).reason == exit_reason::killed(SIGKILL)));
}

// --- run_command ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(run_command_feeds_input_and_captures_stdout_stderr_and_the_exit_code) {
  auto r = run_command(sh("cat; echo oops >&2; exit 3"), {.input = "hello\nworld\n"});
  BOOST_REQUIRE(r);
  BOOST_TEST(r->out == "hello\nworld\n");
  BOOST_TEST(r->err == "oops\n");
  BOOST_TEST((r->reason == exit_reason::exited(3)));
  BOOST_TEST(r->returncode() == 3);

  auto ok = run_command({"echo", "fine"});
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->out == "fine\n");
  BOOST_TEST((ok->reason == exit_reason::normal()));
  BOOST_TEST(ok->returncode() == 0);

  auto killed = run_command(sh("kill -TERM $$"));
  BOOST_REQUIRE(killed);
  BOOST_TEST((killed->reason == exit_reason::killed(SIGTERM)));
  BOOST_TEST(killed->returncode() == -SIGTERM);
}

BOOST_AUTO_TEST_CASE(run_command_moves_more_than_a_pipe_holds_both_ways_without_deadlock) {
  std::string input;
  for (int i = 0; input.size() < (1 << 20); ++i) input += "line " + std::to_string(i) + "\n";
  // The command echoes its input to stdout and stderr while it reads.
  auto r = run_command(sh("tee /dev/stderr"), {.input = input});
  BOOST_REQUIRE(r);
  BOOST_TEST((r->out == input));
  BOOST_TEST((r->err == input));

  // A command that does not read its input at all is not an error (as Python's).
  auto ignored = run_command({"true"}, {.input = input});
  BOOST_REQUIRE(ignored);
  BOOST_TEST((ignored->reason == exit_reason::normal()));
}

BOOST_AUTO_TEST_CASE(run_command_uses_the_given_environment_and_directory) {
  auto r = run_command(sh("pwd; echo \"$A\""), {.cwd = "/tmp", .env = std::vector<std::string>{"A=b"}});
  BOOST_REQUIRE(r);
  BOOST_TEST(r->out == "/tmp\nb\n");
}

BOOST_AUTO_TEST_CASE(run_command_fails_clearly_and_leaves_nothing_behind) {
  auto fds_before = test_helpers::open_fds();
  auto children_before = test_helpers::children_of_self();

  auto missing = run_command({"actorproc-no-such-command"});
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == errc::launch_failed));
  BOOST_TEST(missing.error().message == "cannot execute 'actorproc-no-such-command': No such file or directory");

  auto started = std::chrono::steady_clock::now();
  auto slow = run_command({"sleep", "1000"}, {.timeout = 100ms});
  BOOST_REQUIRE(!slow);
  BOOST_TEST((slow.error().code == errc::timeout));
  BOOST_TEST((std::chrono::steady_clock::now() - started < patience));

  auto chatty = run_command({"yes"}, {.max_output = 10000});
  BOOST_REQUIRE(!chatty);
  BOOST_TEST((chatty.error().code == errc::too_large));
  BOOST_TEST(chatty.error().message.find("max_output (10000 bytes)") != std::string::npos);

  auto bad_cwd = run_command({"true"}, {.cwd = "/actorproc/no/such/dir"});
  BOOST_REQUIRE(!bad_cwd);
  BOOST_TEST((bad_cwd.error().code == errc::launch_failed));

  auto empty = run_command({});
  BOOST_REQUIRE(!empty);
  BOOST_TEST((empty.error().code == errc::invalid_argument));

  BOOST_TEST(test_helpers::fds_opened_since(fds_before) == "");
  BOOST_TEST(test_helpers::children_of_self() == children_before);  // killed and reaped: no zombie
}

BOOST_AUTO_TEST_CASE(run_command_works_beside_a_node_without_disturbing_it) {
  node n{table()};
  auto echo = n.spawn("echo").value();
  auto fds_before = test_helpers::open_fds();
  for (int i = 0; i < 20; ++i) {
    auto r = run_command({"echo", std::to_string(i)});
    BOOST_REQUIRE(r);
    BOOST_REQUIRE(r->out == std::to_string(i) + "\n");
  }
  BOOST_TEST(test_helpers::fds_opened_since(fds_before) == "");
  BOOST_TEST(test_helpers::children_of_self() == (std::set<pid_t>{n.zygote_pid(), echo.pid()}));
  BOOST_TEST(echo.alive());
}

namespace {

// A command whose child outlives it unless its whole process group is stopped:
// the first line is the grandchild's pid.
std::vector<std::string> with_grandchild(const std::string& then) { return sh("sleep 100 & echo $!; " + then); }

pid_t grandchild_of(port& p) {
  std::string line = read_line(p);
  pid_t pid = std::atoi(line.c_str());
  BOOST_REQUIRE_MESSAGE(pid > 0, line);
  BOOST_REQUIRE(test_helpers::process_state(pid) != 0);
  return pid;
}

}  // namespace

BOOST_AUTO_TEST_CASE(stopping_a_port_stops_the_commands_grandchildren) {
  node n{table()};
  auto h = start(n, {.argv = with_grandchild("wait")});
  port p(h);
  pid_t grandchild = grandchild_of(p);
  h.stop(patience);
  BOOST_TEST(to_string(join(h)) == "normal");
  BOOST_TEST(test_helpers::wait_gone(grandchild, patience));
}

BOOST_AUTO_TEST_CASE(a_port_whose_command_exits_takes_the_grandchildren_left_behind) {
  node n{table()};
  // sh exits at once; sleep holds no pipe of the port's, so the port ends too.
  auto h = start(n, {.argv = sh("sleep 100 >/dev/null 2>&1 & echo $!; exit 4")});
  port p(h);
  pid_t grandchild = grandchild_of(p);
  BOOST_TEST(at_end(p));
  BOOST_TEST((join(h) == exit_reason::exited(4)));
  BOOST_TEST(test_helpers::wait_gone(grandchild, patience));
}

BOOST_AUTO_TEST_CASE(a_killed_port_takes_the_commands_grandchildren) {
  node n{table()};
  auto h = start(n, {.argv = with_grandchild("wait")});
  port p(h);
  pid_t grandchild = grandchild_of(p);
  h.kill();  // no destructor runs in the port
  BOOST_TEST((join(h) == exit_reason::killed(SIGKILL)));
  BOOST_TEST(test_helpers::wait_gone(grandchild, patience));
}

BOOST_AUTO_TEST_CASE(run_command_that_fails_kills_the_grandchildren_too) {
  // Too much output fails run_command as a timeout does, without a delay: the
  // pid is in the file before `yes` starts.
  std::string pid_file = "/tmp/actorproc-port-test-" + std::to_string(::getpid()) + "-grandchild";
  auto r = run_command(sh("sleep 100 & echo $! > " + pid_file + "; exec yes"), {.max_output = 1000});
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().code == errc::too_large));
  std::ifstream in(pid_file);
  pid_t grandchild = 0;
  in >> grandchild;
  std::remove(pid_file.c_str());
  BOOST_REQUIRE(grandchild > 0);
  BOOST_TEST(test_helpers::wait_gone(grandchild, patience));
}

BOOST_AUTO_TEST_CASE(a_command_starts_with_default_signal_dispositions_and_an_empty_mask) {
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  struct sigaction ignore {}, saved {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &saved);
  auto r = run_command({"grep", "^Sig\\(Blk\\|Ign\\)", "/proc/self/status"}, {.timeout = patience});
  ::sigaction(SIGINT, &saved, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->out == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

BOOST_AUTO_TEST_CASE(a_command_never_inherits_the_exec_worker_marker) {
  // The marker tells a node that its process was exec'd as a worker; a port's
  // command is not one, even when the port itself was started by exec.
  node n{table()};
  port_options options{.argv = sh("echo marker=${ACTORPROC_EXEC_WORKER:-none}")};
  auto h = n.spawn(port_type, {.args = port_args(options), .method = start_method::exec}).value();
  port p(h);
  BOOST_TEST(read_line(p) == "marker=none");
  BOOST_TEST(to_string(join(h)) == "normal");
}
