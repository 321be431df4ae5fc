#include <actorproc/process/fork_safety.hpp>

#include <dirent.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/common_interface_defs.h>
#endif

#include <chrono>
#include <thread>

namespace actorproc::process::detail {

namespace {

using namespace std::chrono_literals;

// A thread that was just joined can still be listed for a moment: join returns
// when the thread clears its tid, a little before it has finished exiting.
constexpr auto settle_time = 100ms;

std::size_t tasks_listed() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return 1;  // no /proc: nothing to go by
  std::size_t count = 0;
  while (dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] != '.') ++count;
  }
  ::closedir(tasks);
  return count;
}

// ThreadSanitizer's runtime starts a thread of its own with the program's
// first pthread_create (the first node's CAF threads), and keeps it: a second
// node in the same process would see two threads and refuse to start. That
// thread holds none of the program's locks (TSan takes its own around fork), so
// it is no hazard; __sanitizer_sandbox_on_notify() stops it for good (and
// keeps race detection on), so that the count below sees only our threads.
void stop_sanitizer_threads() {
#if defined(__SANITIZE_THREAD__)
  __sanitizer_sandbox_on_notify(nullptr);
#endif
}

}  // namespace

std::size_t thread_count() {
  stop_sanitizer_threads();
  auto deadline = std::chrono::steady_clock::now() + settle_time;
  std::size_t count = tasks_listed();
  while (count > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
    count = tasks_listed();
  }
  return count;
}

std::optional<std::string> fork_hazard(std::size_t threads) {
  if (threads <= 1) return std::nullopt;
  return "this process has " + std::to_string(threads) +
         " threads, and the node forks its zygote now: a lock held by another thread would stay held forever "
         "in the zygote and in every worker, which could then deadlock silently";
}

}  // namespace actorproc::process::detail
