#include <actorproc/process/fork_safety.hpp>

#include <dirent.h>

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

}  // namespace

std::size_t thread_count() {
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
