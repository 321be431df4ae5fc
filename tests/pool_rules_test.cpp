// The pool's retry rules, without processes (patterns/pool_retry.hpp,
// pool_policy.hpp): which causes run a task again, how long the pool waits,
// when a task is called a poison task, and what its final error says.
#define BOOST_TEST_MODULE pool_rules
#include <boost/test/unit_test.hpp>

#include <actorproc/patterns/pool_retry.hpp>

#include <signal.h>

#include <string>

using namespace actorproc;
using namespace actorproc::detail;
using namespace std::chrono_literals;

namespace {

error died_of(exit_reason::kind what) {
  exit_reason reason;
  reason.what = what;
  if (what == exit_reason::kind::signal) reason.signal = SIGSEGV;
  return error(errc::actor_down, "the worker exited", reason);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_cause_of_a_failed_run_comes_from_its_error) {
  BOOST_TEST((cause_of(died_of(exit_reason::kind::signal)) == task_failure::crash));
  BOOST_TEST((cause_of(died_of(exit_reason::kind::exit_code)) == task_failure::crash));
  BOOST_TEST((cause_of(error(errc::actor_down, "no reason given")) == task_failure::crash));
  BOOST_TEST((cause_of(died_of(exit_reason::kind::oom)) == task_failure::oom));
  BOOST_TEST((cause_of(died_of(exit_reason::kind::hung)) == task_failure::deadline));
  BOOST_TEST((cause_of(error(errc::timeout)) == task_failure::deadline));
  BOOST_TEST((cause_of(error(errc::handler_exception, "boom")) == task_failure::exception));
  BOOST_TEST((cause_of(error(errc::mailbox_full)) == task_failure::crash));  // not taken: the worker's doing
  // Not the run's failure: never retried, whatever the policy.
  BOOST_TEST(!cause_of(error(errc::cancelled)));
  BOOST_TEST(!cause_of(error(errc::too_large)));
  BOOST_TEST(!cause_of(error(errc::unhandled_message)));
  BOOST_TEST(!cause_of(error(errc::type_mismatch)));
}

BOOST_AUTO_TEST_CASE(by_default_a_workers_death_is_retried_and_the_tasks_own_failures_are_not) {
  retry_policy policy;
  BOOST_TEST(decide_retry(policy, task_failure::crash, {1, 1}).again);
  BOOST_TEST(decide_retry(policy, task_failure::oom, {1, 1}).again);
  BOOST_TEST(!decide_retry(policy, task_failure::deadline, {1, 1}).again);
  BOOST_TEST(!decide_retry(policy, task_failure::exception, {1, 0}).again);
}

BOOST_AUTO_TEST_CASE(the_causes_that_retry_and_how_often_can_be_chosen) {
  retry_policy policy{.on_crash = false, .on_deadline = true, .on_exception = true, .max_retries = 3};
  BOOST_TEST(!decide_retry(policy, task_failure::crash, {1, 1}).again);
  BOOST_TEST(decide_retry(policy, task_failure::deadline, {1, 1}).again);
  BOOST_TEST(decide_retry(policy, task_failure::exception, {3, 0}).again);  // the third retry comes
  BOOST_TEST(!decide_retry(policy, task_failure::exception, {4, 0}).again);  // a fifth run does not
  BOOST_TEST(!decide_retry(retry_policy{.max_retries = 0}, task_failure::crash, {1, 1}).again);
}

BOOST_AUTO_TEST_CASE(the_delay_doubles_from_the_first_up_to_the_most) {
  retry_policy policy{.max_retries = 30, .first_delay = 100ms, .max_delay = 1000ms};
  BOOST_TEST(decide_retry(policy, task_failure::crash, {1, 1}).delay.count() == 100);
  BOOST_TEST(decide_retry(policy, task_failure::crash, {2, 2}).delay.count() == 200);
  BOOST_TEST(decide_retry(policy, task_failure::crash, {4, 4}).delay.count() == 800);
  BOOST_TEST(decide_retry(policy, task_failure::crash, {5, 5}).delay.count() == 1000);
  BOOST_TEST(decide_retry(policy, task_failure::crash, {30, 30}).delay.count() == 1000);  // no overflow
  BOOST_TEST(decide_retry(retry_policy{}, task_failure::crash, {1, 1}).delay.count() == 0);  // at once
  // A most below the first delay does not shorten the first.
  BOOST_TEST(decide_retry(retry_policy{.first_delay = 50ms, .max_delay = 10ms}, task_failure::crash, {1, 1})
                 .delay.count() == 50);
}

BOOST_AUTO_TEST_CASE(a_task_that_killed_its_worker_on_every_run_is_a_poison_task) {
  retry_policy policy;  // two retries: three runs
  auto last = decide_retry(policy, task_failure::crash, {3, 3});
  BOOST_TEST(!last.again);
  BOOST_TEST(last.poison);
  auto why = final_failure(died_of(exit_reason::kind::signal), task_failure::crash, last, {3, 3});
  BOOST_TEST((why.code == errc::actor_down));
  BOOST_TEST(why.reason.has_value());  // the last worker's exit reason stays
  BOOST_TEST(why.message.find("poison task") != std::string::npos, why.message);
  BOOST_TEST(why.message.find("3 runs") != std::string::npos, why.message);
  // One run that killed its worker, with no retry allowed, is bad luck as far as anyone knows.
  BOOST_TEST(!decide_retry(retry_policy{.max_retries = 0}, task_failure::crash, {1, 1}).poison);
  // A run that ended otherwise clears the task of the suspicion.
  BOOST_TEST(!decide_retry(retry_policy{.on_exception = true}, task_failure::crash, {3, 2}).poison);
}

BOOST_AUTO_TEST_CASE(a_final_failure_says_how_many_runs_it_took) {
  auto once = final_failure(error(errc::handler_exception, "boom"), task_failure::exception, {}, {1, 0});
  BOOST_TEST(once.message == "boom");  // a single run: the error as it came
  auto twice = final_failure(error(errc::timeout, "past its deadline"), task_failure::deadline, {}, {2, 2});
  BOOST_TEST((twice.code == errc::timeout));
  BOOST_TEST(twice.message == "failed after 2 runs; the last (deadline): past its deadline");
}
