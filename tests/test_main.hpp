#pragma once
// The main() of every test executable: it first lets the process become a
// worker (the exec start method re-executes the test binary), then runs Boost.Test.

#include "children/test_actors.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

using namespace std::chrono_literals;

// The bound of every wait in the process-level suites. Generous on purpose: it
// is reached only when something is already broken (2 loaded cores, sanitizers),
// and it turns a hang into a failure.
constexpr std::chrono::seconds patience{30};

// Waits, up to `patience`, until `done()` holds. Each call of `done` should ask
// an actor (a round trip), so that the loop follows the actors' own events.
template <class F>
bool eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::yield();
  }
  return false;
}

int main(int argc, char** argv) {
  if (auto rc = actorproc::run_if_worker(test_actors::table(), argc, argv)) return *rc;
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
