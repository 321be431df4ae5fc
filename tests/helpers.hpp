#pragma once
// Process inspection for the hygiene tests: descriptors, children, liveness.

#include <actorproc/base/unique_fd.hpp>

#include <dirent.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace test_helpers {

/// Number of open descriptors of this process.
inline int open_fd_count() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory's own descriptor
}

/// Open descriptors of this process, by number, with what each refers to.
using fd_table = std::map<int, std::string>;

/// The open descriptors now. One that closes while being listed is left out,
/// and so is the listing's own.
inline fd_table open_fds() {
  fd_table out;
  DIR* dir = ::opendir("/proc/self/fd");
  int own = ::dirfd(dir);
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    int fd = std::atoi(entry->d_name);
    if (fd == own) continue;
    char target[256] = {};
    std::string path = std::string("/proc/self/fd/") + entry->d_name;
    if (::readlink(path.c_str(), target, sizeof target - 1) <= 0) continue;
    out.emplace(fd, target);
  }
  ::closedir(dir);
  return out;
}

/// "3 -> socket:[123], 4 -> anon_inode:[pidfd], ..." for failure messages.
inline std::string describe_fds() {
  std::string out;
  for (auto& [fd, target] : open_fds()) out += std::to_string(fd) + " -> " + target + ", ";
  return out;
}

/// What a descriptor refers to, without the instance: "socket", "pipe",
/// "anon_inode:[pidfd]", or the file's path.
inline std::string fd_kind(const std::string& target) {
  auto bracket = target.find(":[");
  if (bracket == std::string::npos || target.compare(0, 11, "anon_inode:") == 0) return target;
  return target.substr(0, bracket);
}

/// "" when no kind of descriptor is more numerous now than in `before`;
/// otherwise the new descriptors of each kind that grew, then everything open.
/// Kinds, not numbers: a restarted worker's new socket may take its
/// predecessor's number, or another. Growth, not equality, and a growth that
/// goes away within `patience` does not count: sanitizer runtimes open and
/// close descriptors of their own on other threads (TSan was seen to, in the
/// `before` listing too), and nothing tells us when they are done, hence the
/// short sleeps between looks.
inline std::string fds_opened_since(const fd_table& before,
                                    std::chrono::milliseconds patience = std::chrono::milliseconds(500)) {
  std::map<std::string, int> kinds_before;
  for (auto& entry : before) ++kinds_before[fd_kind(entry.second)];
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    fd_table now = open_fds();
    std::map<std::string, int> kinds_now;
    for (auto& entry : now) ++kinds_now[fd_kind(entry.second)];
    std::string leaked;
    for (auto& [fd, target] : now) {
      std::string kind = fd_kind(target);
      auto was = before.find(fd);
      bool is_new = was == before.end() || was->second != target;
      if (is_new && kinds_now[kind] > kinds_before[kind]) leaked += std::to_string(fd) + " -> " + target + ", ";
    }
    if (leaked.empty()) return leaked;
    if (std::chrono::steady_clock::now() >= deadline) return "leaked: " + leaked + "\nopen: " + describe_fds();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

/// Pids of this process's children, zombies included, over all its threads.
inline std::set<pid_t> children_of_self() {
  std::set<pid_t> pids;
  DIR* tasks = ::opendir("/proc/self/task");
  while (dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + task->d_name + "/children");
    pid_t pid;
    while (in >> pid) pids.insert(pid);
  }
  ::closedir(tasks);
  return pids;
}

/// Waits until `pid` has exited (a zombie counts as exited), up to `timeout`.
/// Uses a pidfd, so it works for processes that are not our children.
inline bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
  actorproc::unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return true;  // no such process any more
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

/// The state letter of /proc/<pid>/stat ('Z' for a zombie), or 0 if gone.
inline char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

}  // namespace test_helpers
