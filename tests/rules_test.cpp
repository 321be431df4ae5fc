// The pure rules of supervision and of the reactor, on an injected clock and
// injected random samples: no processes, no threads, milliseconds in total.
#define BOOST_TEST_MODULE rules
#include <boost/test/unit_test.hpp>

#include <actorproc/actor/causal_gate.hpp>
#include <actorproc/node/exit_decision.hpp>
#include <actorproc/supervise/backoff.hpp>
#include <actorproc/supervise/restart_rules.hpp>
#include <actorproc/supervise/restart_scope.hpp>
#include <actorproc/supervise/restart_window.hpp>

#include <signal.h>

#include <ostream>

using namespace actorproc;
using namespace actorproc::detail;
using namespace std::chrono_literals;
using time_point = std::chrono::steady_clock::time_point;

// Boost.Test prints what it compares.
namespace actorproc {
inline std::ostream& operator<<(std::ostream& os, exit_reason::kind k) { return os << to_string(k); }
}  // namespace actorproc

namespace {
time_point at(std::chrono::milliseconds offset) { return time_point{} + 1h + offset; }
}  // namespace

BOOST_AUTO_TEST_SUITE(intensity)

BOOST_AUTO_TEST_CASE(admits_intensity_restarts_within_a_period_and_refuses_the_next) {
  restart_window window(3, 1000ms);
  BOOST_TEST(window.admit(at(0ms)));
  BOOST_TEST(window.admit(at(100ms)));
  BOOST_TEST(window.admit(at(200ms)));
  BOOST_TEST(!window.admit(at(300ms)));
}

BOOST_AUTO_TEST_CASE(the_window_slides_restarts_older_than_the_period_stop_counting) {
  restart_window window(2, 1000ms);
  BOOST_TEST(window.admit(at(0ms)));
  BOOST_TEST(window.admit(at(600ms)));
  // The first restart left the window at 1000 ms (exactly `period` old still counts, as in OTP).
  BOOST_TEST(window.in_window(at(1000ms)) == 2u);
  BOOST_TEST(window.in_window(at(1001ms)) == 1u);
  BOOST_TEST(window.admit(at(1001ms)));
  BOOST_TEST(!window.admit(at(1500ms)));  // 600, 1001 and 1500 are within 1000 ms
}

BOOST_AUTO_TEST_CASE(intensity_zero_refuses_the_first_restart) {
  restart_window window(0, 5000ms);
  BOOST_TEST(!window.admit(at(0ms)));
}

BOOST_AUTO_TEST_CASE(restarts_spaced_wider_than_the_period_never_exceed_intensity_one) {
  restart_window window(1, 100ms);
  for (int i = 0; i < 100; ++i) BOOST_TEST(window.admit(at(std::chrono::milliseconds(101 * i))));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(no_policy_means_no_delay) {
  auto step = next_backoff({}, 0ms, 0ms, 0.5);
  BOOST_TEST(step.delay.count() == 0);
  BOOST_TEST(step.base.count() == 0);
}

BOOST_AUTO_TEST_CASE(doubles_from_min_up_to_max_while_the_child_keeps_failing) {
  backoff_policy policy{.min = 100ms, .max = 1000ms, .jitter = 0.0, .reset_after = 30s};
  std::chrono::milliseconds base{0};
  std::vector<int64_t> delays;
  for (int i = 0; i < 6; ++i) {
    auto step = next_backoff(policy, base, 10ms, 0.5);
    base = step.base;
    delays.push_back(step.delay.count());
  }
  BOOST_TEST(delays == (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(goes_back_to_min_once_an_incarnation_ran_for_reset_after) {
  backoff_policy policy{.min = 100ms, .max = 1000ms, .jitter = 0.0, .reset_after = 5s};
  auto step = next_backoff(policy, 800ms, 4999ms, 0.5);
  BOOST_TEST(step.base.count() == 1000);
  step = next_backoff(policy, 800ms, 5s, 0.5);
  BOOST_TEST(step.base.count() == 100);
}

BOOST_AUTO_TEST_CASE(jitter_spreads_the_delay_by_plus_or_minus_its_fraction) {
  backoff_policy policy{.min = 1000ms, .max = 1000ms, .jitter = 0.25, .reset_after = 30s};
  BOOST_TEST(next_backoff(policy, 0ms, 0ms, 0.0).delay.count() == 750);
  BOOST_TEST(next_backoff(policy, 0ms, 0ms, 0.5).delay.count() == 1000);
  BOOST_TEST(next_backoff(policy, 0ms, 0ms, 0.999).delay.count() == 1249);
  // The base does not carry the jitter, so the doubling is exact.
  BOOST_TEST(next_backoff(policy, 0ms, 0ms, 0.0).base.count() == 1000);
}

BOOST_AUTO_TEST_CASE(a_max_below_min_is_read_as_min) {
  backoff_policy policy{.min = 500ms, .max = 100ms, .jitter = 0.0, .reset_after = 30s};
  BOOST_TEST(next_backoff(policy, 500ms, 0ms, 0.5).base.count() == 500);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(strategy_scope)

using v = std::vector<std::size_t>;
constexpr auto P = restart_type::permanent;
constexpr auto T = restart_type::temporary;
constexpr auto R = restart_type::transient;

BOOST_AUTO_TEST_CASE(one_for_one_restarts_only_the_failed_child) {
  std::vector<restart_type> types{P, P, P};
  for (auto strategy : {restart_strategy::one_for_one, restart_strategy::simple_one_for_one}) {
    auto scope = scope_of_restart(strategy, types, 1);
    BOOST_TEST(scope.stop.empty());
    BOOST_TEST(scope.drop.empty());
    BOOST_TEST(scope.restart == v{1}, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(one_for_all_stops_the_others_in_reverse_order_and_restarts_all_in_order) {
  std::vector<restart_type> types{P, R, P, P};
  auto scope = scope_of_restart(restart_strategy::one_for_all, types, 1);
  BOOST_TEST(scope.stop == (v{3, 2, 0}), boost::test_tools::per_element());
  BOOST_TEST(scope.drop.empty());
  BOOST_TEST(scope.restart == (v{0, 1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rest_for_one_stops_and_restarts_only_the_children_after_the_failed_one) {
  std::vector<restart_type> types{P, P, P, P};
  auto scope = scope_of_restart(restart_strategy::rest_for_one, types, 1);
  BOOST_TEST(scope.stop == (v{3, 2}), boost::test_tools::per_element());
  BOOST_TEST(scope.restart == (v{1, 2, 3}), boost::test_tools::per_element());
  auto last = scope_of_restart(restart_strategy::rest_for_one, types, 3);
  BOOST_TEST(last.stop.empty());
  BOOST_TEST(last.restart == v{3}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_temporary_sibling_is_stopped_and_dropped_not_restarted) {
  std::vector<restart_type> types{T, P, T, P};
  auto all = scope_of_restart(restart_strategy::one_for_all, types, 1);
  BOOST_TEST(all.stop == (v{3, 2, 0}), boost::test_tools::per_element());
  BOOST_TEST(all.drop == (v{2, 0}), boost::test_tools::per_element());
  BOOST_TEST(all.restart == (v{1, 3}), boost::test_tools::per_element());
  auto rest = scope_of_restart(restart_strategy::rest_for_one, types, 1);
  BOOST_TEST(rest.drop == v{2}, boost::test_tools::per_element());
  BOOST_TEST(rest.restart == (v{1, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(restart_types)

BOOST_AUTO_TEST_CASE(permanent_always_transient_on_abnormal_temporary_never) {
  auto crash = exit_reason::killed(SIGSEGV);
  BOOST_TEST(wants_restart(restart_type::permanent, exit_reason::normal()));
  BOOST_TEST(wants_restart(restart_type::permanent, crash));
  BOOST_TEST(!wants_restart(restart_type::transient, exit_reason::normal()));
  BOOST_TEST(!wants_restart(restart_type::transient, exit_reason::shutdown()));
  BOOST_TEST(wants_restart(restart_type::transient, crash));
  BOOST_TEST(!wants_restart(restart_type::temporary, crash));
}

BOOST_AUTO_TEST_CASE(before_the_exit_is_final_only_temporary_rules_a_restart_out) {
  BOOST_TEST(may_restart(restart_type::permanent, std::nullopt));
  BOOST_TEST(may_restart(restart_type::transient, std::nullopt));
  BOOST_TEST(!may_restart(restart_type::temporary, std::nullopt));
  BOOST_TEST(!may_restart(restart_type::transient, exit_reason::normal()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(exit_reason_decision)

BOOST_AUTO_TEST_CASE(the_nodes_own_verdict_wins) {
  auto hung = exit_reason::because(exit_reason::kind::hung, "no heartbeat answer");
  auto r = decide_exit_reason({exit_reason::killed(SIGKILL), hung, exit_reason::normal(), std::nullopt});
  BOOST_TEST(r.what == exit_reason::kind::hung);
}

BOOST_AUTO_TEST_CASE(an_abnormal_announcement_beats_the_kernels_exit_code) {
  auto thrown = exit_reason::because(exit_reason::kind::exception, "boom");
  auto r = decide_exit_reason({exit_reason::exited(1), std::nullopt, thrown, std::nullopt});
  BOOST_TEST(r.what == exit_reason::kind::exception);
  BOOST_TEST(r.detail == "boom");
}

BOOST_AUTO_TEST_CASE(a_clean_exit_reports_what_the_worker_or_the_stop_request_said) {
  BOOST_TEST(decide_exit_reason({exit_reason::normal(), std::nullopt, exit_reason::shutdown(), std::nullopt}).what ==
             exit_reason::kind::shutdown);
  BOOST_TEST(decide_exit_reason({exit_reason::normal(), std::nullopt, std::nullopt, exit_reason::shutdown()}).what ==
             exit_reason::kind::shutdown);
  BOOST_TEST(decide_exit_reason({exit_reason::normal(), std::nullopt, std::nullopt, std::nullopt}).what ==
             exit_reason::kind::normal);
}

BOOST_AUTO_TEST_CASE(a_signal_is_reported_even_after_a_normal_announcement_or_stop) {
  // A worker that said goodbye and was then killed (SIGKILL from the stop ladder) died of the signal.
  auto r = decide_exit_reason({exit_reason::killed(SIGKILL), std::nullopt, exit_reason::normal(), exit_reason::shutdown()});
  BOOST_TEST(r.what == exit_reason::kind::signal);
  BOOST_TEST(r.signal == SIGKILL);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_causal_gate_puts_direct_frames_complete_at_the_snapshot_before_the_mailbox_frame) {
  causal_gate gate;
  std::vector<causal_gate::head> heads{{7, 100}, {9, 40}};
  BOOST_TEST(!gate.armed_for(0));
  BOOST_TEST(!gate.owed(heads).has_value());  // not armed: nothing is owed
  gate.arm(64, {{7, 90}, {9, 40}});
  BOOST_TEST(gate.armed_for(64));
  BOOST_TEST(!gate.armed_for(128));  // the next mailbox frame needs its own snapshot
  // Peer 7's next frame ends past its snapshot (it was not complete then); peer 9's ends at it.
  BOOST_TEST(gate.owed(heads).value_or(99) == 1u);
  heads[1].frame_end.reset();  // peer 9 has nothing buffered any more
  BOOST_TEST(!gate.owed(heads).has_value());
  heads.push_back({11, 8});  // a channel added after the snapshot owes nothing
  BOOST_TEST(!gate.owed(heads).has_value());
  gate.arm(64, {{7, 100}});
  BOOST_TEST(gate.owed(heads).value_or(99) == 0u);
}
