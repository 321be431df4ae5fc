#pragma once
// What a pool does when a task fails: why it failed (task_failure), whether it
// runs again and after how long (retry_policy). Ray's and Celery's users
// expect retries decided by cause: a worker that crashed under a task says
// little about the task (retry it), a task that threw or ran past its deadline
// will most likely do it again (do not, unless asked).
//
// A task that killed its worker on every run is a poison task: once its
// retries are spent, it fails with an error that says so and how many runs it
// took, and the pool carries on with fresh workers.

#include <chrono>
#include <cstdint>

namespace actorproc {

/// Why one run of a task failed.
enum class task_failure : uint8_t {
  /// Its worker died under it: a signal (SIGSEGV, SIGKILL, the kernel's OOM
  /// killer, which nothing tells apart from another SIGKILL) or an exit.
  crash,
  /// Its worker ran out of the memory it was allowed (exit reason `oom`).
  oom,
  /// It ran past its deadline: its worker was killed and replaced.
  deadline,
  /// The task's function threw; the worker carried on.
  exception,
};

const char* to_string(task_failure cause);

/// Which causes run a task again, how many times, and how long to wait first.
/// The defaults retry what a worker's death did to a task, and nothing the
/// task did itself.
struct retry_policy {
  bool on_crash = true;
  bool on_oom = true;
  bool on_deadline = false;
  bool on_exception = false;
  /// Runs after the first, whatever their causes.
  unsigned max_retries = 2;
  /// Before the n-th retry: first_delay x 2^(n-1), at most max_delay. 0: at once.
  std::chrono::milliseconds first_delay{0};
  std::chrono::milliseconds max_delay{10000};

  bool retries(task_failure cause) const {
    switch (cause) {
      case task_failure::crash:
        return on_crash;
      case task_failure::oom:
        return on_oom;
      case task_failure::deadline:
        return on_deadline;
      case task_failure::exception:
        return on_exception;
    }
    return false;
  }
};

}  // namespace actorproc
