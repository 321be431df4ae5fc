// pool: the seeds' Pool program (seeds/000, os5.py: "Pool(processes=3)", five
// tasks with apply_async), ported. Five tasks run on a pool of three worker
// processes: three start at once, the other two wait for a free worker, and
// the pids show that workers are reused rather than started per task.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build pool && ./build/examples/pool
// Prints (pids and order vary):
//   Current process 4238.
//   Waiting for all subprocesses done...     (five times)
//   Task 0 (pid = 4239) is running...        (from the workers, as they start)
//   Task 0 end.  ...
//   All subprocesses done.
//   5 tasks ran on 3 worker processes

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <unistd.h>

#include <cstdio>
#include <set>
#include <thread>

using namespace std::chrono_literals;

// run_task, in a worker process. The sleep stands for the seed's random work.
void run_task(demo::Task::Reader task, demo::TaskDone::Builder done) {
  std::printf("Task %s (pid = %d) is running...\n", task.getName().cStr(), ::getpid());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::milliseconds(task.getMillis()));
  std::printf("Task %s end.\n", task.getName().cStr());
  std::fflush(stdout);
  done.setName(task.getName());
  done.setPid(::getpid());
}

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actorproc::add_pool(actors, actorproc::pool_functions().add<demo::Task, demo::TaskDone>(run_task));
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  actorproc::node node{actors};
  std::printf("Current process %d.\n", ::getpid());
  auto p = actorproc::pool::start(node, {.processes = 3}).value();
  std::vector<actorproc::pool_future<demo::TaskDone>> tasks;
  for (int i = 0; i < 5; ++i) {
    tasks.push_back(p.submit<demo::Task, demo::TaskDone>([&](demo::Task::Builder t) {
      t.setName(std::to_string(i));
      t.setMillis(static_cast<uint32_t>(100 + (i * 137) % 300));
    }));
    std::printf("Waiting for all subprocesses done...\n");
  }
  std::fflush(stdout);
  p.close();
  if (auto joined = p.join(60s); !joined) {
    std::printf("join failed: %s\n", to_string(joined.error()).c_str());
    return 1;
  }
  std::set<int> pids;
  for (auto& t : tasks) {
    auto done = t.get(0ms);
    if (!done) {
      std::printf("task failed: %s\n", to_string(done.error()).c_str());
      return 1;
    }
    pids.insert(done->getPid());
  }
  std::printf("All subprocesses done.\n%zu tasks ran on %zu worker processes\n", tasks.size(), pids.size());
  return pids.size() <= 3 ? 0 : 1;
}
