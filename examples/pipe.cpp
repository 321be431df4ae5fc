// pipe: the seed's Pipe program (seeds/000, section 1.4.2), ported. One actor
// sends ten URLs through a pipe, another receives them until the sender closes
// its end; the node only starts them and waits.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build pipe && ./build/examples/pipe
// Prints (the two processes interleave):
//   Process(<pid>) send: url_0 ... url_9
//   Process(<pid>) recv: url_0 ... url_9
//   Process(<pid>) recv: end of stream after 10 urls

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <unistd.h>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// Holds one end of the pipe, given at spawn.
struct pipe_holder {
  explicit pipe_holder(actorproc::context& ctx) : end(std::move(ctx.inherited_fds().at(0))) {}
  actorproc::pipe_end end;
};

// On Start, sends `rounds` URLs, then closes its end: the receiver sees end of stream.
struct sender : pipe_holder {
  using handles = actorproc::handles<demo::Start>;
  using pipe_holder::pipe_holder;
  void on(demo::Start::Reader m, actorproc::context& ctx) {
    for (uint64_t i = 0; i < m.getRounds(); ++i) {
      std::string url = "url_" + std::to_string(i);
      std::printf("Process(%d) send: %s\n", ::getpid(), url.c_str());
      end.send<demo::Url>([&](demo::Url::Builder b) { b.setUrl(url); }).value();
    }
    // close() delivers what is still buffered (up to the end's linger) before
    // it closes; an error would say how many bytes were lost.
    end.close().value();
    ctx.stop();
  }
};

// On Start, receives until the other end is closed (Python's EOFError).
struct receiver : pipe_holder {
  using handles = actorproc::handles<demo::Start>;
  using pipe_holder::pipe_holder;
  void on(demo::Start::Reader, actorproc::context& ctx) {
    int count = 0;
    for (;;) {
      auto url = end.receive<demo::Url>(10s);
      if (!url) {
        std::printf(
            "Process(%d) recv: %s after %d urls\n", ::getpid(),
            url.error().code == actorproc::errc::end_of_stream ? "end of stream" : to_string(url.error()).c_str(),
            count);
        break;
      }
      ++count;
      std::printf("Process(%d) recv: %s\n", ::getpid(), url->getUrl().cStr());
    }
    std::fflush(stdout);
    ctx.stop();
  }
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actors.add<sender>("sender").add<receiver>("receiver");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  actorproc::node node{actors};
  auto [send_end, receive_end] = actorproc::make_pipe().value();
  actorproc::spawn_options for_sender, for_receiver;
  for_sender.fds.push_back(send_end.release());
  for_receiver.fds.push_back(receive_end.release());
  auto p1 = node.spawn("sender", std::move(for_sender)).value();
  auto p2 = node.spawn("receiver", std::move(for_receiver)).value();
  p1.send<demo::Start>([](demo::Start::Builder b) { b.setRounds(10); }).value();
  p2.send<demo::Start>().value();
  // p1.join(); p2.join(), as in the seed
  bool ok = p1.join(30s).has_value() && p2.join(30s).has_value();
  return ok ? 0 : 1;
}
