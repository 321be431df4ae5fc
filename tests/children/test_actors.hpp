#pragma once
// The actor types the test suites spawn, as one entry table. They are defined in
// test_actors.cpp, compiled once into a library that every test program and test
// child links: each test file used to instantiate all of them again, which cost
// every test file several seconds of compile time.

#include <actorproc/actorproc.hpp>
#include <tests/testing.capnp.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace test_actors {

/// Every test actor type, plus the library's pattern actors, registered.
const actorproc::entry_table& table();

/// The text of the i-th message of a pipe flood: "<i>:" padded with 'x' to `bytes`.
std::string flood_text(uint64_t i, std::size_t bytes);

}  // namespace test_actors
