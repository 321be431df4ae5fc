// manager: the seeds' Manager program (seeds/004, section 3), ported. Ten
// processes share a dict {'count': 0} and a list; under a lock, each one adds 1
// to the count and appends the new count to the list.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build manager && ./build/examples/manager
// Prints (the order of the processes varies):
//   <pid>: count is now <n>     (x10)
//   final count 10; list [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

actorproc::actor_ref arg_ref(actorproc::context& ctx, std::size_t i) {
  return {std::strtoull(ctx.args().at(i).c_str(), nullptr, 10)};
}

// start_process1(d, l): the dict, the list and the lock come as ids in args.
struct incrementer {
  using handles = actorproc::handles<demo::Start>;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    auto d = actorproc::dict_in(ctx, arg_ref(ctx, 0));
    auto l = actorproc::list_in(ctx, arg_ref(ctx, 1));
    auto lock = actorproc::lock_in(ctx, arg_ref(ctx, 2));
    lock.acquire(30s).value();
    int64_t count = d.get<demo::Count>("count").value().value().getValue() + 1;  // d['count'] += 1
    d.set<demo::Count>("count", [&](demo::Count::Builder b) { b.setValue(count); }).value();
    l.append<demo::Count>([&](demo::Count::Builder b) { b.setValue(count); }).value();  // l.append(d['count'])
    lock.release().value();
    std::printf("%d: count is now %lld\n", ::getpid(), static_cast<long long>(count));
    std::fflush(stdout);
    ctx.reply<demo::Count>([&](demo::Count::Builder b) { b.setValue(count); });
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<incrementer>("incrementer");
  actorproc::add_shared(actors);
  actorproc::add_lock(actors);
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  actorproc::node node{actors};
  auto d = actorproc::start_dict(node).value();  // manager.dict({'count': 0})
  auto l = actorproc::start_list(node).value();  // manager.list([])
  auto lock = actorproc::start_lock(node).value();
  actorproc::dict_client<actorproc::actor_handle> dict(d);
  actorproc::list_client<actorproc::actor_handle> list(l);
  dict.set<demo::Count>("count", [](demo::Count::Builder b) { b.setValue(0); }).value();

  std::vector<actorproc::actor_handle> procs;
  for (int i = 0; i < 10; ++i) {
    procs.push_back(
        node.spawn("incrementer", {.args = {std::to_string(d.id()), std::to_string(l.id()), std::to_string(lock.id())}})
            .value());
  }
  std::vector<std::thread> started;
  for (auto& p : procs) started.emplace_back([&p] { (void)p.request<demo::Start, demo::Count>({}, 60s); });
  for (auto& t : started) t.join();  // p.join()

  std::string items;
  std::size_t n = list.size().value();
  for (std::size_t i = 0; i < n; ++i) {
    items += (i ? ", " : "") + std::to_string(list.at<demo::Count>(static_cast<int64_t>(i)).value().value().getValue());
  }
  std::printf("final count %lld; list [%s]\n",
              static_cast<long long>(dict.get<demo::Count>("count").value().value().getValue()), items.c_str());
  return 0;
}
