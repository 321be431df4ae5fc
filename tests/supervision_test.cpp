// Supervision with OTP's rules on real processes: strategies, restart types,
// intensity and escalation, nesting, shutdown, start failures, backoff, names
// that survive restarts, heartbeats, significant children, introspection.
// Every wait is for an event or a state, never for a length of time.
// Longer than 450 lines on purpose: one suite per concept, so that `--run_test`
// and ctest's labels select a concept; its cases share this file's fixtures.
#define BOOST_TEST_MODULE supervision
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

#include "helpers.hpp"

#include <signal.h>

#include <cstdio>
#include <map>
#include <thread>

using namespace actorproc;
using test_actors::table;

namespace {

child_spec worker(std::string id, restart_type restart = restart_type::permanent) {
  return {.id = std::move(id), .actor_type = "echo", .restart = restart};
}

std::map<std::string, child_info> children_of(const supervisor& s) {
  std::map<std::string, child_info> out;
  for (auto& c : s.which_children()) out[c.id] = c;
  return out;
}

// Kills the current incarnation of `id` and waits until a newer one runs.
std::map<std::string, child_info> kill_and_wait_restart(const supervisor& s, const std::string& id,
                                                        std::size_t expected_restarts_of_id) {
  auto before = children_of(s);
  auto victim = s.child(id).current();
  BOOST_REQUIRE(victim);
  victim->kill();
  BOOST_REQUIRE(eventually([&] {
    auto now = children_of(s);
    return now[id].restarts == expected_restarts_of_id && now[id].state == child_state::running;
  }));
  return children_of(s);
}

std::string marker_path(const char* tag) { return "/tmp/actorproc-test-" + std::to_string(::getpid()) + "-" + tag; }

}  // namespace

BOOST_AUTO_TEST_CASE(one_for_one_restarts_only_the_failed_child) {
  node n{table()};
  auto sup =
      supervisor::start(n, {.name = "s", .intensity = 5, .children = {worker("a"), worker("b"), worker("c")}}).value();
  auto before = children_of(sup);
  auto after = kill_and_wait_restart(sup, "b", 1);
  BOOST_TEST(after["a"].ref.id == before["a"].ref.id);
  BOOST_TEST(after["c"].ref.id == before["c"].ref.id);
  BOOST_TEST(after["b"].ref.id != before["b"].ref.id);
  BOOST_TEST(n.size() == 3u);
}

BOOST_AUTO_TEST_CASE(one_for_all_restarts_every_child_in_start_order) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s",
                                   .strategy = restart_strategy::one_for_all,
                                   .intensity = 5,
                                   .children = {worker("a"), worker("b"), worker("c")}})
                 .value();
  auto before = children_of(sup);
  auto after = kill_and_wait_restart(sup, "b", 1);
  BOOST_REQUIRE(eventually([&] {
    after = children_of(sup);
    return after["a"].restarts == 1 && after["c"].restarts == 1 && after["c"].state == child_state::running;
  }));
  for (auto id : {"a", "b", "c"}) BOOST_TEST(after[id].ref.id != before[id].ref.id);
  // Actor ids grow with every spawn: the new incarnations started a, then b, then c.
  BOOST_TEST(after["a"].ref.id < after["b"].ref.id);
  BOOST_TEST(after["b"].ref.id < after["c"].ref.id);
  BOOST_TEST(sup.restart_log().size() == 1u);  // one failure, one restart event
  BOOST_TEST(n.size() == 3u);
}

BOOST_AUTO_TEST_CASE(rest_for_one_restarts_the_failed_child_and_those_started_after_it) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s",
                                   .strategy = restart_strategy::rest_for_one,
                                   .intensity = 5,
                                   .children = {worker("a"), worker("b"), worker("c")}})
                 .value();
  auto before = children_of(sup);
  std::map<std::string, child_info> after;
  sup.child("b").current()->kill();
  BOOST_REQUIRE(eventually([&] {
    after = children_of(sup);
    return after["b"].state == child_state::running && after["c"].state == child_state::running &&
           after["b"].ref.id != before["b"].ref.id && after["c"].ref.id != before["c"].ref.id;
  }));
  BOOST_TEST(after["a"].ref.id == before["a"].ref.id);
  BOOST_TEST(after["b"].ref.id < after["c"].ref.id);
}

BOOST_AUTO_TEST_CASE(restart_types_decide_after_normal_and_abnormal_exits) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s",
                                   .intensity = 10,
                                   .children = {worker("perm"), worker("trans", restart_type::transient),
                                                worker("temp", restart_type::temporary)}})
                 .value();
  auto stop_normally = [](const named_actor& a) {
    BOOST_REQUIRE(
        a.send<testing::Crash>([](testing::Crash::Builder b) { b.setHow(testing::Crash::How::STOP_NORMALLY); }));
  };
  // Permanent: restarted even after a normal exit.
  stop_normally(sup.child("perm"));
  BOOST_REQUIRE(eventually([&] { return children_of(sup)["perm"].restarts == 1; }));
  // Transient: not restarted after a normal exit...
  stop_normally(sup.child("trans"));
  BOOST_REQUIRE(eventually([&] { return children_of(sup)["trans"].state == child_state::stopped; }));
  BOOST_TEST(children_of(sup)["trans"].restarts == 0u);
  // ...but restarted after an abnormal one.
  BOOST_REQUIRE(sup.restart_child("trans"));
  kill_and_wait_restart(sup, "trans", 1);
  // Temporary: never restarted, and its spec is dropped.
  sup.child("temp").current()->kill();
  BOOST_REQUIRE(eventually([&] { return children_of(sup).count("temp") == 0; }));
  BOOST_TEST(sup.count_children().specs == 2u);
}

BOOST_AUTO_TEST_CASE(a_temporary_child_stopped_by_a_siblings_failure_is_not_restarted) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s",
                                   .strategy = restart_strategy::one_for_all,
                                   .intensity = 5,
                                   .children = {worker("a"), worker("temp", restart_type::temporary)}})
                 .value();
  sup.child("a").current()->kill();
  BOOST_REQUIRE(eventually([&] {
    auto now = children_of(sup);
    return now.count("temp") == 0 && now["a"].restarts == 1 && now["a"].state == child_state::running;
  }));
  BOOST_TEST(n.size() == 1u);
}

BOOST_AUTO_TEST_CASE(exceeding_intensity_stops_the_children_and_the_supervisor_with_shutdown) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s", .intensity = 2, .period = 60s, .children = {worker("a"), worker("b")}})
                 .value();
  kill_and_wait_restart(sup, "a", 1);
  kill_and_wait_restart(sup, "a", 2);
  sup.child("a").current()->kill();  // the third restart within the period is one too many
  auto reason = sup.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::shutdown));
  BOOST_TEST(reason->detail.find("intensity") != std::string::npos);
  BOOST_TEST(n.size() == 0u);  // b was stopped too
  BOOST_TEST((sup.restart_log().back().what == restart_event::action::gave_up));
}

BOOST_AUTO_TEST_CASE(escalation_reaches_the_parent_which_applies_its_own_strategy) {
  node n{table()};
  auto inner =
      std::make_shared<supervisor_spec>(supervisor_spec{.name = "inner", .intensity = 0, .children = {worker("w")}});
  auto root =
      supervisor::start(
          n, {.name = "root", .intensity = 5, .children = {worker("sibling"), {.id = "inner", .supervisor = inner}}})
          .value();
  auto sibling_before = children_of(root)["sibling"].ref.id;
  auto worker_before = root.snapshot();
  // Intensity 0: the inner supervisor gives up at its worker's first death...
  pid_t first_worker = -1;
  for (auto& row : worker_before) {
    if (row.path == "root/inner/w") first_worker = row.pid;
  }
  BOOST_REQUIRE(first_worker > 0);
  ::kill(first_worker, SIGKILL);
  // ...and root, one_for_one, restarts the inner supervisor, which starts a new worker.
  BOOST_REQUIRE(eventually([&] {
    auto now = children_of(root);
    return now["inner"].restarts == 1 && now["inner"].state == child_state::running;
  }));
  BOOST_TEST(children_of(root)["sibling"].ref.id == sibling_before);
  auto log = root.restart_log();
  BOOST_REQUIRE(!log.empty());
  BOOST_TEST((log.back().reason.what == exit_reason::kind::shutdown));
  BOOST_TEST(n.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_tree_three_levels_deep_restarts_at_the_level_of_the_failure) {
  node n{table()};
  auto leaf = std::make_shared<supervisor_spec>(
      supervisor_spec{.name = "leaf", .intensity = 5, .children = {worker("w1"), worker("w2")}});
  auto mid = std::make_shared<supervisor_spec>(
      supervisor_spec{.name = "mid", .intensity = 5, .children = {{.id = "leaf", .supervisor = leaf}}});
  auto root =
      supervisor::start(n, {.name = "root", .intensity = 5, .children = {{.id = "mid", .supervisor = mid}}}).value();
  auto rows = root.snapshot();
  std::map<std::string, actor_snapshot> by_path;
  for (auto& r : rows) by_path[r.path] = r;
  BOOST_REQUIRE(by_path.count("root/mid/leaf/w2"));
  BOOST_TEST(by_path["root/mid"].is_supervisor);
  BOOST_TEST(by_path["root/mid/leaf/w1"].rss_bytes > 0u);
  ::kill(by_path["root/mid/leaf/w2"].pid, SIGKILL);
  BOOST_REQUIRE(eventually([&] {
    for (auto& r : root.snapshot()) {
      if (r.path == "root/mid/leaf/w2") return r.restarts == 1 && r.state == child_state::running;
    }
    return false;
  }));
  for (auto& r : root.snapshot()) {
    if (r.path == "root/mid/leaf/w1") BOOST_TEST(r.pid == by_path["root/mid/leaf/w1"].pid);  // untouched
    if (r.path == "root/mid") BOOST_TEST(r.restarts == 0u);
  }
  BOOST_TEST(to_string(root.snapshot()).find("root/mid/leaf/w2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shutdown_policies_end_with_sigkill_for_a_child_that_ignores_sigterm) {
  node n{table()};
  auto sup = supervisor::start(
                 n, {.name = "s",
                     .intensity = 5,
                     .children = {{.id = "stubborn", .actor_type = "echo", .shutdown = shutdown_policy::after(100ms)},
                                  {.id = "brutal", .actor_type = "echo", .shutdown = shutdown_policy::brutal_kill()}}})
                 .value();
  auto stubborn = sup.child("stubborn").current().value();
  BOOST_REQUIRE(stubborn.send<testing::Crash>(
      [](testing::Crash::Builder b) { b.setHow(testing::Crash::How::IGNORE_TERM_AND_HANG); }));
  BOOST_REQUIRE(sup.terminate_child("stubborn"));
  BOOST_REQUIRE(stubborn.exit());
  BOOST_TEST(stubborn.exit()->signal == SIGKILL);

  auto brutal = sup.child("brutal").current().value();
  BOOST_REQUIRE(sup.terminate_child("brutal"));
  BOOST_REQUIRE(brutal.exit());
  BOOST_TEST(brutal.exit()->signal == SIGKILL);
  BOOST_TEST(sup.count_children().active == 0u);
  BOOST_TEST(sup.count_children().specs == 2u);  // kept, stopped
  BOOST_TEST(sup.restart_log().empty());         // a deliberate stop is not a failure
}

BOOST_AUTO_TEST_CASE(a_child_that_cannot_start_fails_the_supervisor_start_and_names_the_child) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s", .children = {worker("fine"), {.id = "bad", .actor_type = "broken"}}});
  BOOST_REQUIRE(!sup);
  BOOST_TEST((sup.error().code == errc::launch_failed));
  BOOST_TEST(sup.error().message.find("'bad'") != std::string::npos);
  BOOST_TEST(n.size() == 0u);  // "fine" was stopped again
}

BOOST_AUTO_TEST_CASE(a_child_that_can_never_restart_brings_its_supervisor_down) {
  node n{table()};
  auto marker = marker_path("never");
  std::remove(marker.c_str());
  auto sup = supervisor::start(n, {.name = "s",
                                   .intensity = 3,
                                   .period = 60s,
                                   .children = {{.id = "f", .actor_type = "flaky", .args = {marker, "fail-start"}}}})
                 .value();
  std::fclose(std::fopen(marker.c_str(), "w"));  // from now on it cannot start
  sup.child("f").current()->kill();
  auto reason = sup.join(patience);
  std::remove(marker.c_str());
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::shutdown));
  std::size_t failed_attempts = 0;
  for (auto& e : sup.restart_log()) failed_attempts += e.what == restart_event::action::start_failed;
  BOOST_TEST(failed_attempts == 3u);  // one death + 3 attempts = 4 restarts > intensity 3
}

BOOST_AUTO_TEST_CASE(backoff_delays_grow_up_to_the_maximum_and_reset_after_stability) {
  node n{table()};
  backoff_policy growing{.min = 10ms, .max = 40ms, .jitter = 0.0, .reset_after = 3600s};
  auto sup =
      supervisor::start(n, {.name = "s", .intensity = 10, .period = 60s, .children = {worker("w")}, .backoff = growing})
          .value();
  for (uint64_t i = 1; i <= 4; ++i) kill_and_wait_restart(sup, "w", i);
  std::vector<long> delays;
  for (auto& e : sup.restart_log()) delays.push_back(static_cast<long>(e.delay.count()));
  BOOST_TEST(delays == (std::vector<long>{10, 20, 40, 40}), boost::test_tools::per_element());

  backoff_policy resetting{.min = 10ms, .max = 40ms, .jitter = 0.0, .reset_after = 0ms};
  auto stable = supervisor::start(
                    n, {.name = "t", .intensity = 10, .period = 60s, .children = {worker("w")}, .backoff = resetting})
                    .value();
  for (uint64_t i = 1; i <= 3; ++i) kill_and_wait_restart(stable, "w", i);
  for (auto& e : stable.restart_log()) BOOST_TEST(e.delay.count() == 10);
}

BOOST_AUTO_TEST_CASE(a_named_handle_reaches_the_current_incarnation) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s", .intensity = 5, .children = {worker("w")}}).value();
  auto w = sup.child("w");
  auto first = w.request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(first);
  kill_and_wait_restart(sup, "w", 1);
  auto second = w.request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->getPid() != first->getPid());
  BOOST_TEST(std::string(second->getName()) == "s/w");
}

BOOST_AUTO_TEST_CASE(messages_sent_while_restarting_follow_the_declared_policy) {
  node n{table()};
  backoff_policy slow_restart{.min = 300ms, .max = 300ms, .jitter = 0.0};
  auto sup = supervisor::start(
                 n, {.name = "s",
                     .intensity = 5,
                     .children = {{.id = "strict", .actor_type = "echo", .while_restarting = restarting_policy::fail},
                                  {.id = "patient",
                                   .actor_type = "echo",
                                   .while_restarting = restarting_policy::buffer,
                                   .restart_buffer = 2}},
                     .backoff = slow_restart})
                 .value();
  auto strict = sup.child("strict");
  auto patient = sup.child("patient");
  strict.current()->kill();
  patient.current()->kill();
  BOOST_REQUIRE(eventually([&] {
    auto now = children_of(sup);
    return now["strict"].state == child_state::restarting && now["patient"].state == child_state::restarting;
  }));
  auto refused = strict.send<testing::Tick>();
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code == errc::actor_restarting));

  BOOST_REQUIRE(patient.send<testing::Tick>());
  BOOST_REQUIRE(patient.send<testing::Tick>());
  auto over = patient.send<testing::Tick>();  // the buffer holds two
  BOOST_REQUIRE(!over);
  BOOST_TEST((over.error().code == errc::mailbox_full));
  // A request waits for the next incarnation, which got the buffered messages first.
  auto stats = patient.request<testing::Stats, testing::Report>({}, patience);
  BOOST_REQUIRE(stats);
  BOOST_TEST(stats->getReceived() == 2u);
}

BOOST_AUTO_TEST_CASE(an_in_flight_request_fails_promptly_or_is_resent_when_opted_in) {
  node n{table()};
  auto marker = marker_path("resend");
  std::remove(marker.c_str());
  auto sup =
      supervisor::start(
          n, {.name = "s",
              .intensity = 5,
              .children = {worker("napper"), {.id = "once", .actor_type = "flaky", .args = {marker, "crash-once"}}}})
          .value();
  auto napper = sup.child("napper");
  std::optional<expected<message<testing::Echo>>> answer;
  auto victim = napper.current().value();
  std::thread requester([&] {
    answer = napper.request<testing::Nap, testing::Echo>([](testing::Nap::Builder b) { b.setMillis(60000); }, 60s);
  });
  BOOST_REQUIRE(eventually([&] { return victim.stats().messages_in > 0; }));
  victim.kill();
  requester.join();  // long before its 60 s
  BOOST_REQUIRE(!*answer);
  BOOST_TEST(((*answer).error().code == errc::actor_down));
  BOOST_TEST((*answer).error().reason->signal == SIGKILL);

  // "once" aborts on its first Echo; an idempotent request is resent to the next incarnation.
  auto echoed = sup.child("once").request<testing::Echo, testing::Echo>(
      [](testing::Echo::Builder b) { b.setText("again"); }, patience, true);
  std::remove(marker.c_str());
  BOOST_REQUIRE(echoed);
  BOOST_TEST(std::string(echoed->getText()) == "again");
  BOOST_TEST(children_of(sup)["once"].restarts == 1u);
}

BOOST_AUTO_TEST_CASE(a_frozen_child_is_detected_as_hung_and_restarted) {
  node n{table()};
  auto sup =
      supervisor::start(
          n, {.name = "s",
              .intensity = 5,
              .children = {{.id = "w", .actor_type = "echo", .heartbeat = {.interval = 20ms, .timeout = 200ms}}}})
          .value();
  sup.child("w").current()->signal(SIGSTOP);
  BOOST_REQUIRE(eventually([&] { return children_of(sup)["w"].restarts == 1; }));
  BOOST_TEST((sup.restart_log().front().reason.what == exit_reason::kind::hung));
}

BOOST_AUTO_TEST_CASE(a_significant_child_ends_its_supervisor_under_auto_shutdown) {
  node n{table()};
  auto sup =
      supervisor::start(
          n,
          {.name = "s",
           .children = {worker("helper"),
                        {.id = "main", .actor_type = "echo", .restart = restart_type::transient, .significant = true}},
           .shutdown_when = auto_shutdown::any_significant})
          .value();
  BOOST_REQUIRE(sup.child("main").send<testing::Crash>(
      [](testing::Crash::Builder b) { b.setHow(testing::Crash::How::STOP_NORMALLY); }));
  auto reason = sup.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::shutdown));
  BOOST_TEST(n.size() == 0u);
}

BOOST_AUTO_TEST_CASE(children_are_added_stopped_restarted_and_deleted_on_request) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s", .children = {worker("a")}}).value();
  BOOST_REQUIRE(sup.start_child(worker("b")));
  BOOST_TEST(!sup.start_child(worker("b")));  // ids are unique
  BOOST_TEST(sup.count_children().active == 2u);
  BOOST_REQUIRE(sup.terminate_child("b"));
  BOOST_TEST((children_of(sup)["b"].state == child_state::stopped));
  BOOST_TEST(!sup.delete_child("a"));  // only stopped children can be deleted
  auto again = sup.restart_child("b");
  BOOST_REQUIRE(again);
  BOOST_TEST((again->state == child_state::running));
  BOOST_REQUIRE(sup.terminate_child("b"));
  BOOST_REQUIRE(sup.delete_child("b"));
  BOOST_TEST(sup.count_children().specs == 1u);
}

BOOST_AUTO_TEST_CASE(simple_one_for_one_starts_children_with_arguments_and_restarts_them_alone) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "pool",
                                   .strategy = restart_strategy::simple_one_for_one,
                                   .intensity = 5,
                                   .children = {{.id = "w", .actor_type = "echo", .args = {"0"}}}})
                 .value();
  std::vector<child_info> started;
  for (int i = 0; i < 3; ++i)
    started.push_back(sup.start_child(std::vector<std::string>{"extra" + std::to_string(i)}).value());
  auto id = sup.child(started[1].id).request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(id);
  BOOST_REQUIRE(id->getArgs().size() == 2u);
  BOOST_TEST(std::string(id->getArgs()[1]) == "extra1");
  auto after = kill_and_wait_restart(sup, started[1].id, 1);
  BOOST_TEST(after[started[0].id].ref.id == started[0].ref.id);
  BOOST_TEST(after[started[2].id].ref.id == started[2].ref.id);
  sup.stop();
  BOOST_TEST(n.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_restart_storm_leaves_no_descriptor_and_no_zombie) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s", .intensity = 1000, .period = 60s, .children = {worker("w")}}).value();
  kill_and_wait_restart(sup, "w", 1);
  auto fds_before = test_helpers::open_fds();
  for (uint64_t i = 2; i <= 60; ++i) kill_and_wait_restart(sup, "w", i);
  BOOST_TEST(test_helpers::fds_opened_since(fds_before) == "");
  auto children = test_helpers::children_of_self();
  BOOST_TEST(children.size() == 2u);  // the zygote and the one live worker
  BOOST_TEST(sup.restart_log().size() == 60u);
  BOOST_TEST(to_string(sup.restart_log().back()).find("restarted") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_node_stops_a_running_tree_in_order_when_it_is_destroyed) {
  std::optional<supervisor> kept;
  {
    node n{table()};
    kept = supervisor::start(n, {.name = "s", .children = {worker("a"), worker("b")}}).value();
  }
  BOOST_TEST(!kept->alive());
  BOOST_TEST((kept->join(1s)->what == exit_reason::kind::shutdown));
}

BOOST_AUTO_TEST_CASE(nested_supervisors_and_their_children_are_reachable_by_path) {
  node n{table()};
  auto inner =
      std::make_shared<supervisor_spec>(supervisor_spec{.name = "inner", .intensity = 5, .children = {worker("w")}});
  auto root = supervisor::start(n, {.name = "root", .children = {{.id = "inner", .supervisor = inner}}}).value();
  auto nested = root.child_supervisor("inner");
  BOOST_REQUIRE(nested);
  BOOST_TEST(nested->count_children().workers == 1u);
  auto w = root.child("inner/w");
  auto first = w.request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(first);
  BOOST_TEST(std::string(first->getName()) == "root/inner/w");
  kill_and_wait_restart(*nested, "w", 1);
  BOOST_TEST((nested->restart_log().size() == 1u));
  auto second = w.request<testing::WhoAmI, testing::Identity>({}, patience);
  BOOST_REQUIRE(second);
  BOOST_TEST(second->getPid() != first->getPid());
  BOOST_TEST(!root.child_supervisor("nope"));
  BOOST_TEST((root.child("inner/nope").send<testing::Tick>().error().code == errc::actor_down));
}

BOOST_AUTO_TEST_CASE(all_significant_waits_for_every_significant_child) {
  node n{table()};
  auto significant = [](std::string id) {
    return child_spec{
        .id = std::move(id), .actor_type = "echo", .restart = restart_type::transient, .significant = true};
  };
  auto sup = supervisor::start(n, {.name = "s",
                                   .children = {worker("helper"), significant("x"), significant("y")},
                                   .shutdown_when = auto_shutdown::all_significant})
                 .value();
  auto stop_normally = [](const named_actor& a) {
    BOOST_REQUIRE(
        a.send<testing::Crash>([](testing::Crash::Builder b) { b.setHow(testing::Crash::How::STOP_NORMALLY); }));
  };
  stop_normally(sup.child("x"));
  BOOST_REQUIRE(eventually([&] { return children_of(sup)["x"].state == child_state::stopped; }));
  BOOST_TEST(sup.alive());  // y still runs
  stop_normally(sup.child("y"));
  auto reason = sup.join(patience);
  BOOST_REQUIRE(reason);
  BOOST_TEST((reason->what == exit_reason::kind::shutdown));
  BOOST_TEST(n.size() == 0u);
}

// Right after a crash, before the supervisor has heard of it, a named handle
// must already apply the child's declared policy: the death is observable, so
// nothing may go to the dead incarnation. It is observed through the node (the
// old incarnation's join() returned) or, every other round, through the kernel
// alone (its pidfd), which can run ahead of the node's reactor.
BOOST_AUTO_TEST_CASE(right_after_a_crash_a_named_handle_applies_its_policy_not_the_dead_incarnation) {
  node n{table()};
  auto sup =
      supervisor::start(
          n, {.name = "s",
              .intensity = 1000,
              .period = 60s,
              .children = {{.id = "patient", .actor_type = "echo", .while_restarting = restarting_policy::buffer},
                           {.id = "strict", .actor_type = "echo", .while_restarting = restarting_policy::fail}}})
          .value();
  auto patient = sup.child("patient");
  auto strict = sup.child("strict");
  constexpr int rounds = 100, sends_per_round = 10;
  int lost = 0, stale = 0;
  std::string first_problem;
  auto note = [&](int& counter, const std::string& what) {
    ++counter;
    if (first_problem.empty()) first_problem = what;
  };
  // The incarnation running now, once the last one's restart is complete.
  auto running = [](const named_actor& a) {
    std::optional<actor_handle> now;
    BOOST_REQUIRE(eventually([&] { return (now = a.current()) && now->alive(); }));
    return *now;
  };
  auto kill_and_see_it_die = [](const actor_handle& victim, int round) {
    victim.kill();
    if (round % 2 == 0) {
      BOOST_REQUIRE(victim.join(patience));
    } else {
      BOOST_REQUIRE(test_helpers::wait_gone(victim.pid(), patience));
    }
  };
  for (int round = 0; round < rounds; ++round) {
    // buffer: every send is kept for the next incarnation, which gets them before the request.
    auto victim = running(patient);
    kill_and_see_it_die(victim, round);
    for (int i = 0; i < sends_per_round; ++i) {
      if (auto sent = patient.send<testing::Tick>(); !sent) note(lost, "buffer send: " + to_string(sent.error()));
    }
    auto stats = patient.request<testing::Stats, testing::Report>({}, patience);
    if (!stats) {
      note(stale, "buffer request: " + to_string(stats.error()));
    } else if (stats->getReceived() != sends_per_round) {
      note(lost, "the next incarnation got " + std::to_string(stats->getReceived()) + " ticks");
    }

    // fail: actor_restarting (or the next incarnation), never the old incarnation's actor_down.
    victim = running(strict);
    kill_and_see_it_die(victim, round);
    if (auto sent = strict.send<testing::Tick>(); !sent && sent.error().code != errc::actor_restarting) {
      note(stale, "fail send: " + to_string(sent.error()));
    }
    auto asked = strict.request<testing::Stats, testing::Report>({}, patience);
    if (!asked && asked.error().code != errc::actor_restarting)
      note(stale, "fail request: " + to_string(asked.error()));
    // resend_on_restart: the request goes to the next incarnation.
    auto resent = strict.request<testing::Stats, testing::Report>({}, patience, true);
    if (!resent) note(stale, "resent request: " + to_string(resent.error()));
  }
  BOOST_TEST(lost == 0, lost << " sends lost; the first problem: " << first_problem);
  BOOST_TEST(stale == 0, stale << " stale answers; the first problem: " << first_problem);
  BOOST_TEST(children_of(sup)["patient"].restarts == uint64_t{rounds});
}

// OTP's rules for a spec (supervisor:check_flags/1, check_childspec/2), checked
// before anything starts; plus: simple_one_for_one takes auto_shutdown never.
BOOST_AUTO_TEST_CASE(a_spec_that_breaks_a_rule_is_refused_naming_the_field_and_the_rule) {
  auto with = [](auto change) {
    supervisor_spec spec{.name = "s", .children = {worker("a"), worker("b")}};
    change(spec);
    return spec;
  };
  auto dynamic = [](supervisor_spec& s) {
    s.strategy = restart_strategy::simple_one_for_one;
    s.children = {worker("w")};
  };
  std::vector<std::pair<supervisor_spec, std::string>> broken = {
      {with([](supervisor_spec& s) { s.intensity = -1; }), "intensity must be >= 0, got -1"},
      {with([](supervisor_spec& s) { s.period = 0ms; }), "period must be > 0 ms, got 0 ms"},
      {with([](supervisor_spec& s) { s.period = -5ms; }), "period must be > 0 ms, got -5 ms"},
      {with([](supervisor_spec& s) { s.children[1].shutdown = shutdown_policy::after(-1ms); }),
       "child 'b': shutdown must be >= 0 ms, got -1 ms"},
      {with([](supervisor_spec& s) { s.children[1].id = "a"; }), "child ids must be unique; 'a' repeats"},
      {with([&](supervisor_spec& s) {
         dynamic(s);
         s.shutdown_when = auto_shutdown::any_significant;
       }),
       "auto_shutdown must be never with simple_one_for_one, got any_significant"},
      {with([](supervisor_spec& s) { s.strategy = restart_strategy::simple_one_for_one; }),
       "simple_one_for_one takes exactly one child spec, got 2"},
      {with([](supervisor_spec& s) {
         s.children.push_back({.id = "inner",
                               .supervisor = std::make_shared<supervisor_spec>(
                                   supervisor_spec{.name = "inner", .intensity = -2, .children = {worker("w")}})});
       }),
       "supervisor 'inner': intensity must be >= 0, got -2"},
  };
  node n{table()};
  for (auto& [spec, rule] : broken) {
    auto checked = check_spec(spec);
    BOOST_TEST_CONTEXT(rule) {
      BOOST_REQUIRE(!checked);
      BOOST_TEST((checked.error().code == errc::invalid_argument));
      BOOST_TEST(checked.error().message.find(rule) != std::string::npos, checked.error().message);
      auto started = supervisor::start(n, spec);
      BOOST_REQUIRE(!started);
      BOOST_TEST(started.error().message == checked.error().message);
      BOOST_TEST(n.size() == 0u);  // refused before anything started
    }
  }
  // The limits themselves are fine: intensity 0, a period of 1 ms, shutdown 0.
  auto at_the_limits = check_spec(with([](supervisor_spec& s) {
    s.intensity = 0;
    s.period = 1ms;
    s.children[0].shutdown = shutdown_policy::after(0ms);
  }));
  BOOST_TEST(at_the_limits.has_value());

  // start_child applies the same rules to the spec it adds.
  auto sup = supervisor::start(n, {.name = "s", .children = {worker("a")}}).value();
  auto negative = sup.start_child({.id = "b", .actor_type = "echo", .shutdown = shutdown_policy::after(-5ms)});
  BOOST_REQUIRE(!negative);
  BOOST_TEST((negative.error().code == errc::invalid_argument));
  BOOST_TEST(negative.error().message.find("shutdown must be >= 0 ms, got -5 ms") != std::string::npos);
  auto duplicate = sup.start_child(worker("a"));
  BOOST_REQUIRE(!duplicate);
  BOOST_TEST((duplicate.error().code == errc::invalid_argument));
  BOOST_TEST(duplicate.error().message.find("child ids must be unique; 'a'") != std::string::npos);
  BOOST_TEST(n.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_simple_one_for_one_supervisor_counts_one_spec_and_each_child) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "pool",
                                   .strategy = restart_strategy::simple_one_for_one,
                                   .children = {{.id = "w", .actor_type = "echo"}}})
                 .value();
  auto counts = [&] {
    auto c = sup.count_children();
    return std::vector<std::size_t>{c.specs, c.active, c.supervisors, c.workers};
  };
  BOOST_TEST(counts() == (std::vector<std::size_t>{1, 0, 0, 0}), boost::test_tools::per_element());
  BOOST_REQUIRE(sup.start_child(std::vector<std::string>{}));
  BOOST_REQUIRE(sup.start_child(std::vector<std::string>{}));
  BOOST_TEST(counts() == (std::vector<std::size_t>{1, 2, 0, 2}), boost::test_tools::per_element());
}

// OTP's child_adm_simple: "Terminate non-existing process is ok".
BOOST_AUTO_TEST_CASE(terminating_a_dynamic_child_that_is_already_gone_is_not_an_error) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "pool",
                                   .strategy = restart_strategy::simple_one_for_one,
                                   .children = {{.id = "w", .actor_type = "echo"}}})
                 .value();
  auto first = sup.start_child(std::vector<std::string>{}).value();
  auto second = sup.start_child(std::vector<std::string>{}).value();
  BOOST_REQUIRE(sup.terminate_child(first.id));
  BOOST_TEST(sup.count_children().active == 1u);
  auto again = sup.terminate_child(first.id);
  BOOST_TEST(again.has_value(), (again ? "" : to_string(again.error())));
  BOOST_TEST(sup.count_children().active == 1u);  // the other child is untouched
  // An id this supervisor never gave out is still unknown.
  for (auto stranger : {"w#3", "w#0", "w#01", "x#1", "w"}) {
    auto refused = sup.terminate_child(stranger);
    BOOST_TEST_CONTEXT(stranger) {
      BOOST_REQUIRE(!refused);
      BOOST_TEST((refused.error().code == errc::unknown_actor));
    }
  }
  BOOST_TEST(children_of(sup).count(second.id) == 1u);
}

// OTP's shutdown T kills a child T after the stop began; the ladder here has a
// SIGTERM step more, and it fits inside T too.
BOOST_AUTO_TEST_CASE(the_stop_ladder_fits_in_its_grace_period) {
  BOOST_TEST(ladder_for(1000ms).sigterm_at.count() == 500);
  BOOST_TEST(ladder_for(1000ms).sigkill_at.count() == 1000);
  BOOST_TEST(ladder_for(1ms).sigterm_at.count() == 0);
  BOOST_TEST(ladder_for(1ms).sigkill_at.count() == 1);
  BOOST_TEST(ladder_for(0ms).sigkill_at.count() == 0);
  BOOST_TEST(ladder_for(-5ms).sigterm_at.count() == 0);  // a negative grace kills at once
  BOOST_TEST(ladder_for(-5ms).sigkill_at.count() == 0);
}

namespace {

constexpr auto shutdown_time = 600ms;
// Timers, signal delivery, reaping and waking the joiner, on 2 loaded cores.
constexpr auto ladder_slack = shutdown_time / 2;

struct ending {
  std::chrono::milliseconds took;
  exit_reason reason;
};

// Runs `stop` and waits for `victim` to exit: how long it took, and why.
template <class Stop>
ending time_the_stop(const actor_handle& victim, Stop stop) {
  auto began = std::chrono::steady_clock::now();
  stop();
  auto reason = victim.join(patience);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
  BOOST_REQUIRE(reason);
  return {took, *reason};
}

// A child whose handler never returns: it never reads its stop message.
void keep_busy(const actor_handle& a, bool ignore_sigterm) {
  if (ignore_sigterm) {
    BOOST_REQUIRE(
        a.send<testing::Crash>([](testing::Crash::Builder b) { b.setHow(testing::Crash::How::IGNORE_TERM_AND_HANG); }));
  } else {
    BOOST_REQUIRE(a.send<testing::Nap>([](testing::Nap::Builder b) { b.setMillis(60000); }));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_child_deaf_to_its_stop_is_killed_at_its_shutdown_time_not_twice_that) {
  node n{table()};
  auto sup =
      supervisor::start(
          n, {.name = "s",
              .children = {{.id = "deaf", .actor_type = "echo", .shutdown = shutdown_policy::after(shutdown_time)},
                           {.id = "busy", .actor_type = "echo", .shutdown = shutdown_policy::after(shutdown_time)}}})
          .value();
  // It ignores the stop message and SIGTERM: SIGKILL, at T.
  auto deaf = sup.child("deaf").current().value();
  keep_busy(deaf, true);
  auto killed = time_the_stop(deaf, [&] { BOOST_REQUIRE(sup.terminate_child("deaf")); });
  BOOST_TEST(killed.reason.signal == SIGKILL);
  BOOST_TEST(killed.took >= shutdown_time);
  BOOST_TEST(killed.took < shutdown_time + ladder_slack);
  // It never reads the stop message, but SIGTERM ends it: at T/2, inside T.
  auto busy = sup.child("busy").current().value();
  keep_busy(busy, false);
  auto terminated = time_the_stop(busy, [&] { BOOST_REQUIRE(sup.terminate_child("busy")); });
  BOOST_TEST(terminated.reason.signal == SIGTERM);
  BOOST_TEST(terminated.took >= shutdown_time / 2);
  BOOST_TEST(terminated.took < shutdown_time);
}

BOOST_AUTO_TEST_CASE(actor_handle_stop_follows_the_same_ladder) {
  node n{table()};
  auto deaf = n.spawn("echo").value();
  keep_busy(deaf, true);
  auto killed = time_the_stop(deaf, [&] { deaf.stop(shutdown_time); });
  BOOST_TEST(killed.reason.signal == SIGKILL);
  BOOST_TEST(killed.took >= shutdown_time);
  BOOST_TEST(killed.took < shutdown_time + ladder_slack);
  auto busy = n.spawn("echo").value();
  keep_busy(busy, false);
  auto terminated = time_the_stop(busy, [&] { busy.stop(shutdown_time); });
  BOOST_TEST(terminated.reason.signal == SIGTERM);
  BOOST_TEST(terminated.took >= shutdown_time / 2);
  BOOST_TEST(terminated.took < shutdown_time);
}

// Once its death is seen, a child that its restart type will not restart is
// simply down, whatever its restarting policy: nothing is kept for it.
BOOST_AUTO_TEST_CASE(a_named_handle_of_a_child_that_will_not_restart_is_down_once_its_death_is_seen) {
  node n{table()};
  auto sup = supervisor::start(n, {.name = "s",
                                   .intensity = 5,
                                   .children = {{.id = "temp",
                                                 .actor_type = "echo",
                                                 .restart = restart_type::temporary,
                                                 .while_restarting = restarting_policy::buffer},
                                                {.id = "trans",
                                                 .actor_type = "echo",
                                                 .restart = restart_type::transient,
                                                 .while_restarting = restarting_policy::buffer}}})
                 .value();
  auto temp = sup.child("temp");
  auto killed = temp.current().value();
  killed.kill();
  BOOST_REQUIRE(killed.join(patience));
  auto sent = temp.send<testing::Tick>();
  BOOST_REQUIRE(!sent);
  BOOST_TEST((sent.error().code == errc::actor_down));
  BOOST_TEST(!temp.current());

  auto trans = sup.child("trans");
  auto stopped = trans.current().value();
  BOOST_REQUIRE(
      trans.send<testing::Crash>([](testing::Crash::Builder b) { b.setHow(testing::Crash::How::STOP_NORMALLY); }));
  BOOST_REQUIRE(stopped.join(patience));
  auto asked = trans.request<testing::Stats, testing::Report>({}, patience);
  BOOST_REQUIRE(!asked);
  BOOST_TEST((asked.error().code == errc::actor_down));  // at once, not after waiting for a restart
}
