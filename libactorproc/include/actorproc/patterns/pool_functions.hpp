#pragma once
// pool_functions: what a pool's worker processes can run, registered in main().
//
//   actorproc::entry_table actors;
//   actorproc::pool_functions functions;
//   functions.add<Square, Squared>([](Square::Reader in, Squared::Builder out) { out.setValue(in.getX() * in.getX()); });
//   functions.initializer([](const std::vector<std::string>& initargs) { /* once per worker */ });
//   actorproc::add_pool(actors, std::move(functions));
//   if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
//
// A task is a Cap'n Proto struct; its type selects the function, which fills
// a Result struct in the worker process. Several pools may run different
// tables: register each under its own worker type (add_pool's `type`, then
// pool_options::worker_type). The worker actor itself is the library's
// (patterns/pool_worker.hpp, not installed).

#include <actorproc/actor/entry_table.hpp>

#include <capnp/any.h>
#include <capnp/common.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace actorproc {

/// The functions a pool's workers can run, by task type; built in main().
class pool_functions {
 public:
  struct function {
    uint64_t result_type;
    std::function<void(capnp::AnyPointer::Reader input, capnp::AnyPointer::Builder output)> run;
  };
  using initializer_fn = std::function<void(const std::vector<std::string>& initargs)>;

  /// `fn(Task::Reader, Result::Builder)` runs the tasks of type Task.
  template <class Task, class Result, class F>
  pool_functions& add(F fn) {
    functions_[capnp::typeId<Task>()] = {
        capnp::typeId<Result>(), [fn = std::move(fn)](capnp::AnyPointer::Reader in, capnp::AnyPointer::Builder out) {
          fn(in.getAs<Task>(), out.initAs<Result>());
        }};
    return *this;
  }
  /// Runs once in each worker before its first task; throwing fails the start.
  pool_functions& initializer(initializer_fn fn) {
    initializer_ = std::move(fn);
    return *this;
  }

  const function* find(uint64_t task_type) const {
    auto it = functions_.find(task_type);
    return it == functions_.end() ? nullptr : &it->second;
  }
  const initializer_fn& initializer() const { return initializer_; }

 private:
  std::map<uint64_t, function> functions_;
  initializer_fn initializer_;
};

inline constexpr const char* default_pool_worker_type = "actorproc.pool_worker";

/// Registers the pool worker type with these functions (under `type`: several
/// pools may run different function tables).
void add_pool(entry_table& actors, pool_functions functions, std::string type = default_pool_worker_type);

}  // namespace actorproc
