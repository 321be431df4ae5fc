// payload_bench: 64 MiB from one process to another, read in full by the
// receiver, beside Python's figures for the same work (anchors A8).
//
//   /work/build.sh <src> --target payload_bench && ./build/bench/payload_bench [--quick] [--rows FILE]
//
// Each repetition sends one 64 MiB payload as a request; the receiver reads
// one byte of every page (as Python's shared_memory reader does) and answers
// with the bytes and their sum; the sender's clock runs from the send to the
// answer. Two ways to carry the payload:
// - "buffer": a shared_buffer (a sealed memfd passed by descriptor). As in
//   Python's shared_memory hand-off, the buffer is produced (filled, sealed)
//   before the clock starts; the sender drops its own mapping and descriptor
//   inside the timed region, as Python's close() and unlink() are.
// - "data": a Data field in the frame. As Python's Pipe.send_bytes copies its
//   bytes into the pipe, the sender copies them into the message inside the
//   timed region.
// Actor -> actor, routed through the node and on a direct channel
// (node::connect), and host -> actor. The rows: payload_64MiB_actor_actor and
// payload_64MiB_actor_actor_shm are both the routed buffer figure (compared
// with Python's Pipe and with its shared_memory hand-off), ..._host_actor the
// host's buffer figure, ..._data the routed Data field figure.

#include <actorproc/actorproc.hpp>
#include <actorproc/wire/buffer_pool.hpp>
#include <actorproc/wire/shared_buffer.hpp>
#include <tests/payload.capnp.h>

#include "rows.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

namespace {

constexpr std::size_t page = 4096;

uint64_t sum_pages(std::span<const std::byte> bytes) {
  uint64_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); i += page) sum += static_cast<uint8_t>(bytes[i]);
  return sum;
}

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "payload_bench: %s\n", what.c_str());
  std::exit(1);
}

// The receiver: reads every page of what it is given.
struct sink {
  using handles = actorproc::handles<payload::BigData, payload::BigBuffer>;
  void on(payload::BigData::Reader m, actorproc::context& ctx) {
    auto data = m.getData();
    auto sum = sum_pages({reinterpret_cast<const std::byte*>(data.begin()), data.size()});
    ctx.reply<payload::Took>([&](payload::Took::Builder b) {
      b.setBytes(data.size());
      b.setSum(sum);
    });
  }
  void on(payload::BigBuffer::Reader, actorproc::context& ctx) {
    auto fds = ctx.take_received_fds();
    if (fds.empty()) throw std::runtime_error("a BigBuffer without its descriptor");
    auto buf = actorproc::shared_buffer::open(std::move(fds[0])).value();
    auto sum = sum_pages(buf.data());
    ctx.reply<payload::Took>([&](payload::Took::Builder b) {
      b.setBytes(buf.size());
      b.setSum(sum);
    });
  }
};

// The sending side, for an actor (a context) and for the host (a handle).
struct actor_sender {
  actorproc::context& ctx;
  actorproc::actor_ref to;
  template <class M, class Fill>
  auto request(std::vector<actorproc::unique_fd> fds, Fill&& fill) {
    return ctx.request_with_fds<M, payload::Took>(to, std::move(fds), std::forward<Fill>(fill), 60s);
  }
};
struct host_sender {
  actorproc::actor_handle to;
  template <class M, class Fill>
  auto request(std::vector<actorproc::unique_fd> fds, Fill&& fill) {
    return to.request_with_fds<M, payload::Took>(std::move(fds), std::forward<Fill>(fill), 60s);
  }
};

// One timed hand-off; the seconds it took. `source` is the payload to send.
template <class Sender>
double send_once(Sender& sender, payload::Push::Mode mode, const std::vector<std::byte>& source,
                 actorproc::buffer_pool& pool) {
  std::size_t n = source.size();
  uint64_t want = sum_pages(source);
  clk::time_point t0;
  uint64_t got_bytes = 0, got_sum = 0;
  if (mode == payload::Push::Mode::DATA) {
    t0 = clk::now();
    auto took = sender.template request<payload::BigData>({}, [&](payload::BigData::Builder b) {
      std::memcpy(b.initData(n).begin(), source.data(), n);
    });
    if (!took) fail("data: " + to_string(took.error()));
    got_bytes = took->getBytes();
    got_sum = took->getSum();
  } else {
    auto buf = pool.acquire(n).value();
    std::memcpy(buf.bytes().data(), source.data(), n);
    buf.seal().value();
    t0 = clk::now();
    std::vector<actorproc::unique_fd> fds;
    fds.push_back(buf.share().value());
    auto took = sender.template request<payload::BigBuffer>(std::move(fds), [&](payload::BigBuffer::Builder b) {
      b.setBytes(n);
    });
    buf = {};  // the sender's mapping and descriptor go inside the clock, as Python's close() + unlink()
    if (!took) fail("buffer: " + to_string(took.error()));
    got_bytes = took->getBytes();
    got_sum = took->getSum();
  }
  double s = seconds_since(t0);
  if (got_bytes != n || got_sum != want) fail("the receiver read other bytes than were sent");
  // Prepared outside the clock, as Python's hand-off makes its segment before it.
  if (mode == payload::Push::Mode::BUFFER) (void)pool.reserve(1, n);
  return s;
}

// The source actor: sends `reps` payloads to its target and reports the times.
struct source {
  using handles = actorproc::handles<payload::Push>;
  actorproc::buffer_pool pool{1};
  void on(payload::Push::Reader m, actorproc::context& ctx) {
    std::vector<std::byte> data(m.getBytes(), std::byte{1});
    actor_sender sender{ctx, {m.getTarget()}};
    std::vector<double> seconds;
    (void)pool.reserve(1, data.size());
    for (uint32_t i = 0; i < m.getReps(); ++i) seconds.push_back(send_once(sender, m.getMode(), data, pool));
    ctx.reply<payload::Timings>([&](payload::Timings::Builder b) {
      auto list = b.initSeconds(static_cast<unsigned>(seconds.size()));
      for (unsigned i = 0; i < list.size(); ++i) list.set(i, seconds[i]);
    });
  }
};

std::vector<double> gbps(const std::vector<double>& seconds, std::size_t bytes) {
  std::vector<double> out;
  for (double s : seconds) out.push_back(static_cast<double>(bytes) / 1e9 / s);
  return out;
}

void print_row(const char* what, const std::vector<double>& rates) {
  auto s = bench::summarize(rates);
  std::printf("  %-44s %7.2f GB/s  [%.2f .. %.2f]  n=%zu\n", what, s.median, s.min, s.max, s.n);
}

}  // namespace

int main(int argc, char** argv) {
  bench::take_rows_option(argc, argv);
  actorproc::entry_table actors;
  actors.add<sink>("sink");
  actors.add<source>("source");
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  bool quick = false;
  std::string only;  // "buffer" or "data": one way only (for profiling)
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--only buffer|data] [--rows FILE]\n", argv[0]);
      return 2;
    }
  }
  bool buffers = only != "data", datas = only != "buffer";
  const std::size_t bytes = std::size_t{64} << 20;
  const uint32_t reps = quick ? 3 : 10;
  actorproc::node node{actors};
  std::printf("payload_bench (%s): 64 MiB per hand-off, the receiver reads every page; %u reps, median [min..max]\n",
              quick ? "quick" : "full", reps);

  // One warm-up repetition each (not counted): the first touches fresh pages everywhere.
  auto actor_to_actor = [&](payload::Push::Mode mode, bool direct) {
    auto from = node.spawn("source").value();
    auto to = node.spawn("sink").value();
    if (direct && !node.connect(from, to)) fail("connect failed");
    auto timings = from.request<payload::Push, payload::Timings>(
        [&](payload::Push::Builder b) {
          b.setTarget(to.id());
          b.setBytes(bytes);
          b.setReps(reps + 1);
          b.setMode(mode);
        },
        600s);
    if (!timings) fail("push: " + to_string(timings.error()));
    std::vector<double> seconds;
    for (unsigned i = 1; i < timings->getSeconds().size(); ++i) seconds.push_back(timings->getSeconds()[i]);
    from.stop();
    to.stop();
    return gbps(seconds, bytes);
  };
  auto host_to_actor = [&](payload::Push::Mode mode) {
    auto to = node.spawn("sink").value();
    host_sender sender{to};
    actorproc::buffer_pool pool{1};
    std::vector<std::byte> data(bytes, std::byte{1});
    (void)pool.reserve(1, bytes);
    std::vector<double> seconds;
    for (uint32_t i = 0; i < reps + 1; ++i) {
      double s = send_once(sender, mode, data, pool);
      if (i > 0) seconds.push_back(s);
    }
    to.stop();
    return gbps(seconds, bytes);
  };

  std::vector<double> buffer_routed, buffer_direct, buffer_host, data_routed, data_direct, data_host;
  if (buffers) {
    buffer_routed = actor_to_actor(payload::Push::Mode::BUFFER, false);
    buffer_direct = actor_to_actor(payload::Push::Mode::BUFFER, true);
    buffer_host = host_to_actor(payload::Push::Mode::BUFFER);
  }
  if (datas) {
    data_routed = actor_to_actor(payload::Push::Mode::DATA, false);
    data_direct = actor_to_actor(payload::Push::Mode::DATA, true);
    data_host = host_to_actor(payload::Push::Mode::DATA);
  }

  std::printf(" shared_buffer (sealed memfd, produced before the clock)\n");
  print_row("actor -> actor, routed", buffer_routed);
  print_row("actor -> actor, direct", buffer_direct);
  print_row("host -> actor", buffer_host);
  std::printf(" Data field (copied into the message inside the clock)\n");
  print_row("actor -> actor, routed", data_routed);
  print_row("actor -> actor, direct", data_direct);
  print_row("host -> actor", data_host);
  std::printf(" Python (same machine): python3 mp_anchors.py a8 (Pipe ~1.0 GB/s, shared_memory hand-off ~2.7 GB/s)\n");

  bench::emit_row("payload_64MiB_actor_actor", "ours", buffer_routed, "GB/s");
  bench::emit_row("payload_64MiB_actor_actor_shm", "ours", buffer_routed, "GB/s");
  bench::emit_row("payload_64MiB_host_actor", "ours", buffer_host, "GB/s");
  bench::emit_row("payload_64MiB_actor_actor_data", "ours", data_routed, "GB/s");
  return 0;
}
