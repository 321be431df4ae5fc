// pool_callbacks: the seeds' Pool callback program (seeds/004, "使用
// multiprocessing中的Pool模块": apply_async with callback and error_callback,
// then apply, map and map_async), ported. Callbacks run in the node, on the
// pool's dispatcher thread, as Python's run on its result-handler thread.
// One task fails on purpose, to show error_callback; the pool carries on.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build pool_callbacks && ./build/examples/pool_callbacks
// Prints (the order of the asynchronous lines varies):
//   1 process start ... 1 process finish      (from the workers)
//   callback:n:1 ... callback:n:5
//   error_callback: handler_exception: task 6 failed on purpose
//   apply: 1 2 3 4 5
//   map: 1 2 3 4
//   map_async callback: 1 2 3 4

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

// start_process, in a worker process: returns its argument.
void start_process(demo::Task::Reader task, demo::TaskDone::Builder done) {
  std::printf("%s process start\n", task.getName().cStr());
  std::fflush(stdout);
  if (task.getFail()) throw std::runtime_error("task " + std::string(task.getName()) + " failed on purpose");
  std::this_thread::sleep_for(std::chrono::milliseconds(task.getMillis()));
  std::printf("%s process finish\n", task.getName().cStr());
  std::fflush(stdout);
  done.setName(task.getName());
}

auto task(int n, bool fail = false) {
  return [=](demo::Task::Builder t) {
    t.setName(std::to_string(n));
    t.setMillis(50);
    t.setFail(fail);
  };
}

void print_line(const char* what, const std::vector<actorproc::pool_result<demo::TaskDone>>& results) {
  std::string line = what;
  for (auto& r : results) line += " " + std::string(r.getName());
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actorproc::add_pool(actors, actorproc::pool_functions().add<demo::Task, demo::TaskDone>(start_process));
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  actorproc::node node{actors};
  {
    auto pool = actorproc::pool::start(node, {.processes = 4}).value();
    for (int i = 1; i <= 6; ++i) {
      pool.apply_async<demo::Task, demo::TaskDone>(
          task(i, i == 6),
          [](const actorproc::pool_result<demo::TaskDone>& n) {
            std::printf("callback:n:%s\n", n.getName().cStr());
            std::fflush(stdout);
          },
          [](const actorproc::error& e) {
            std::printf("error_callback: %s\n", to_string(e).c_str());
            std::fflush(stdout);
          });
    }
    pool.close();
    pool.join().value();
  }
  // A fresh pool for each phase, as the seed closes and joins after each.
  auto pool = actorproc::pool::start(node, {.processes = 4}).value();
  std::vector<actorproc::pool_result<demo::TaskDone>> applied;
  for (int i = 1; i <= 5; ++i) applied.push_back(pool.apply<demo::Task, demo::TaskDone>(task(i)).value());
  print_line("apply:", applied);

  auto fill = [](demo::Task::Builder t, int n) { task(n)(t); };
  print_line("map:", pool.map<demo::Task, demo::TaskDone>(std::vector<int>{1, 2, 3, 4}, fill).value());

  auto all = pool.map_async<demo::Task, demo::TaskDone>(std::vector<int>{1, 2, 3, 4}, fill);
  all.on_done([](const auto& results) {
    if (results) print_line("map_async callback:", *results);
  });
  pool.close();
  return pool.join() && all.successful() ? 0 : 1;
}
