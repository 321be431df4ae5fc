#pragma once
// The main() of every test executable: it first lets the process become a
// worker (the exec start method re-executes the test binary), then runs Boost.Test.

#include "children/test_actors.hpp"

#include <boost/test/unit_test.hpp>

int main(int argc, char** argv) {
  if (auto rc = actorproc::run_if_worker(test_actors::table(), argc, argv)) return *rc;
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
