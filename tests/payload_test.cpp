// Large payloads: shared_buffer's lifetime rules, descriptors through the node
// (checked, forwarded, refused when their count is wrong), 64 MiB on every
// path, and the frame limit at its boundary.
#define BOOST_TEST_MODULE payload
#define BOOST_TEST_NO_MAIN
#include <actorproc/actorproc.hpp>
#include <actorproc/wire/buffer_pool.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/frame_writer.hpp>
#include <actorproc/wire/shared_buffer.hpp>
#include <tests/payload.capnp.h>

#include "helpers.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

using namespace actorproc;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::seconds patience{60};
constexpr std::size_t mib64 = std::size_t{64} << 20;

std::byte pattern(std::size_t i) { return static_cast<std::byte>(i % 251); }
uint64_t checksum(std::span<const std::byte> bytes) {
  uint64_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) sum += static_cast<uint8_t>(bytes[i]) * (i % 7 + 1);
  return sum;
}
uint64_t pattern_checksum(std::size_t n) {
  uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<uint8_t>(pattern(i)) * (i % 7 + 1);
  return sum;
}
shared_buffer pattern_buffer(std::size_t n) {
  auto buf = shared_buffer::create(n).value();
  auto bytes = buf.bytes();
  for (std::size_t i = 0; i < n; ++i) bytes[i] = pattern(i);
  buf.seal().value();
  return buf;
}
std::vector<unique_fd> fds_of(const shared_buffer& buf) {
  std::vector<unique_fd> fds;
  fds.push_back(buf.share().value());
  return fds;
}

// Reads whole payloads, makes and relays them, and counts its descriptors.
struct reader {
  using handles = actorproc::handles<payload::BigData, payload::BigBuffer, payload::MakeBuffer, payload::Forward,
                                     payload::CountFds, payload::SendFds>;
  void on(payload::BigData::Reader m, context& ctx) {
    auto data = m.getData();
    auto sum = checksum({reinterpret_cast<const std::byte*>(data.begin()), data.size()});
    ctx.reply<payload::Took>([&](payload::Took::Builder b) {
      b.setBytes(data.size());
      b.setSum(sum);
    });
  }
  void on(payload::BigBuffer::Reader, context& ctx) {
    auto fds = ctx.take_received_fds();
    if (fds.size() != 1) throw std::runtime_error("expected one descriptor, got " + std::to_string(fds.size()));
    auto buf = shared_buffer::open(std::move(fds[0])).value();
    auto sum = checksum(buf.data());
    ctx.reply<payload::Took>([&](payload::Took::Builder b) {
      b.setBytes(buf.size());
      b.setSum(sum);
    });
  }
  void on(payload::MakeBuffer::Reader m, context& ctx) {
    auto buf = pattern_buffer(m.getBytes());
    ctx.reply_with_fds<payload::Took>(fds_of(buf), [&](payload::Took::Builder b) { b.setBytes(buf.size()); });
  }
  void on(payload::Forward::Reader m, context& ctx) {
    std::size_t n = m.getBytes();
    expected<message<payload::Took>> took = error(errc::invalid_argument);
    if (m.getMode() == payload::Push::Mode::BUFFER) {
      auto buf = pattern_buffer(n);
      took = ctx.request_with_fds<payload::BigBuffer, payload::Took>({m.getTarget()}, fds_of(buf), {}, patience);
    } else {
      took = ctx.request<payload::BigData, payload::Took>(
          {m.getTarget()},
          [&](payload::BigData::Builder b) {
            auto data = b.initData(static_cast<unsigned>(n));
            for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(pattern(i));
          },
          patience);
    }
    if (!took) throw std::runtime_error(to_string(took.error()));
    ctx.reply<payload::Took>([&](payload::Took::Builder b) {
      b.setBytes(took->getBytes());
      b.setSum(took->getSum());
    });
  }
  void on(payload::CountFds::Reader, context& ctx) {
    ctx.reply<payload::Took>([&](payload::Took::Builder b) { b.setBytes(test_helpers::open_fd_count()); });
  }
  void on(payload::SendFds::Reader m, context& ctx) {
    wire::envelope_builder env;
    env.address(0, ctx.id(), 0);
    env.envelope().setFdCount(m.getAnnounced());
    env.init_user<payload::CountFds>();
    std::vector<unique_fd> fds;
    for (unsigned i = 0; i < m.getAttached(); ++i) {
      int ends[2];
      if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
      fds.emplace_back(ends[0]);
      ::close(ends[1]);
    }
    wire::frame_writer out;
    out.append(env.message(), std::move(fds));
    (void)out.flush(detail::mailbox_fd(ctx));
  }
};

const entry_table& table() {
  static const entry_table t = [] {
    entry_table e;
    e.add<reader>("reader");
    return e;
  }();
  return t;
}

uint64_t fds_in(const actor_handle& a) {
  auto took = a.request<payload::CountFds, payload::Took>({}, patience);
  BOOST_REQUIRE_MESSAGE(took, (took ? "" : to_string(took.error())));
  return took->getBytes();
}

message<payload::Took> forward(const actor_handle& from, const actor_handle& to, std::size_t n,
                               payload::Push::Mode mode) {
  auto took = from.request<payload::Forward, payload::Took>(
      [&](payload::Forward::Builder b) {
        b.setTarget(to.id());
        b.setBytes(n);
        b.setMode(mode);
      },
      patience);
  BOOST_REQUIRE_MESSAGE(took, (took ? "" : to_string(took.error())));
  return std::move(*took);
}

}  // namespace

int main(int argc, char** argv) {
  if (auto rc = run_if_worker(table(), argc, argv)) return *rc;
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}

// ---- shared_buffer on its own

BOOST_AUTO_TEST_CASE(a_sealed_buffer_cannot_be_written_by_anyone_nor_resized) {
  auto buf = shared_buffer::create(3 * 4096).value();
  std::memset(buf.bytes().data(), 7, buf.size());
  BOOST_REQUIRE(buf.seal(5000));
  BOOST_TEST(buf.size() == 5000u);  // kept its first `used` bytes
  BOOST_CHECK_THROW(buf.bytes(), std::logic_error);
  BOOST_TEST(!buf.share() == false);
  auto fd = buf.share().value();
  char byte = 1;
  BOOST_TEST(::pwrite(fd.get(), &byte, 1, 0) == -1);  // the kernel refuses writes...
  BOOST_TEST(::ftruncate(fd.get(), 1) == -1);         // ...size changes...
  BOOST_TEST(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0) == MAP_FAILED);  // ...writable maps
  auto received = shared_buffer::open(std::move(fd)).value();
  BOOST_TEST(received.size() == 5000u);
  BOOST_TEST(static_cast<int>(received.data()[4999]) == 7);
}

// A pointer kept from bytes() no longer reaches the payload once sealed: a
// write through it faults instead of changing what receivers read.
BOOST_AUTO_TEST_CASE(a_write_through_a_pointer_kept_from_before_the_seal_faults) {
  auto buf = shared_buffer::create(4096).value();
  std::byte* stale = buf.bytes().data();
  BOOST_REQUIRE(buf.seal());
  pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGSEGV, SIG_DFL);  // not Boost.Test's handler: the fault must end the child
    *static_cast<volatile std::byte*>(stale) = std::byte{1};
    ::_exit(0);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFSIGNALED(status));
  BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV));
  BOOST_TEST(static_cast<int>(buf.data()[0]) == 0);
}

BOOST_AUTO_TEST_CASE(only_sealed_buffers_are_shared_or_opened) {
  auto buf = shared_buffer::create(4096).value();
  BOOST_TEST((buf.share().error().code == errc::invalid_argument));
  int ends[2];
  BOOST_REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
  ::close(ends[1]);
  auto opened = shared_buffer::open(unique_fd(ends[0]));
  BOOST_REQUIRE(!opened);
  BOOST_TEST((opened.error().code == errc::invalid_argument));
  BOOST_TEST((buf.seal(4097).error().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(a_buffer_releases_its_descriptor_and_mapping_and_a_pool_prepares_ahead) {
  auto before = test_helpers::open_fds();
  {
    buffer_pool pool(2);
    BOOST_REQUIRE(pool.reserve(2, 8192));
    BOOST_TEST(pool.ready() == 2u);
    auto a = pool.acquire(8192).value();
    BOOST_TEST(pool.ready() == 1u);
    auto b = pool.acquire(4096).value();  // no prepared one of that size: a new one
    BOOST_TEST(pool.ready() == 1u);
    BOOST_TEST(b.size() == 4096u);
    BOOST_REQUIRE(a.seal());
    auto copy = a.share().value();
  }
  BOOST_TEST(test_helpers::fds_opened_since(before) == "");
}

// ---- through processes

BOOST_AUTO_TEST_CASE(buffers_travel_host_to_actor_and_back_and_every_descriptor_is_closed_after_use) {
  node n{table()};
  auto a = n.spawn("reader").value();
  uint64_t actor_fds = fds_in(a);
  auto host_fds = test_helpers::open_fds();
  for (int round = 0; round < 3; ++round) {
    std::size_t size = 1'000'003 + round;
    auto buf = pattern_buffer(size);
    auto took = a.request_with_fds<payload::BigBuffer, payload::Took>(fds_of(buf), {}, patience);
    BOOST_REQUIRE_MESSAGE(took, (took ? "" : to_string(took.error())));
    BOOST_TEST(took->getBytes() == size);  // it read every byte
    BOOST_TEST(took->getSum() == pattern_checksum(size));

    auto made = a.request<payload::MakeBuffer, payload::Took>(
        [&](payload::MakeBuffer::Builder b) { b.setBytes(size); }, patience);
    BOOST_REQUIRE_MESSAGE(made, (made ? "" : to_string(made.error())));
    auto fds = made->take_fds();
    BOOST_REQUIRE(fds.size() == 1u);
    auto back = shared_buffer::open(std::move(fds[0])).value();
    BOOST_TEST(back.size() == size);
    BOOST_TEST(checksum(back.data()) == pattern_checksum(size));
  }
  BOOST_TEST(fds_in(a) == actor_fds);
  BOOST_TEST(test_helpers::fds_opened_since(host_fds) == "");
}

BOOST_AUTO_TEST_CASE(buffers_travel_actor_to_actor_routed_through_the_node_and_direct) {
  node n{table()};
  auto from = n.spawn("reader").value();
  auto to = n.spawn("reader").value();
  uint64_t from_fds = fds_in(from), to_fds = fds_in(to);
  auto host_fds = test_helpers::open_fds();
  auto routed = forward(from, to, 3'000'001, payload::Push::Mode::BUFFER);
  BOOST_TEST(routed.getBytes() == 3'000'001u);
  BOOST_TEST(routed.getSum() == pattern_checksum(3'000'001));
  BOOST_TEST(test_helpers::fds_opened_since(host_fds) == "");  // the node kept none

  BOOST_REQUIRE(n.connect(from, to));
  auto direct = forward(from, to, 3'000'002, payload::Push::Mode::BUFFER);
  BOOST_TEST(direct.getSum() == pattern_checksum(3'000'002));
  BOOST_TEST(fds_in(from) == from_fds + 1);  // its direct channel, and nothing else
  BOOST_TEST(fds_in(to) == to_fds + 1);
}

// A worker's frame that announces other descriptors than it carries is a
// protocol error: the node kills that worker, closes what it received, and
// goes on.
BOOST_AUTO_TEST_CASE(descriptors_that_do_not_match_their_announced_count_are_refused_without_a_leak) {
  node n{table()};
  auto witness = n.spawn("reader").value();
  auto host_fds = test_helpers::open_fds();
  struct lie {
    uint8_t announced, attached;
  };
  for (lie l : {lie{2, 1}, lie{0, 1}, lie{1, 0}, lie{1, 2}}) {
    auto liar = n.spawn("reader").value();
    BOOST_REQUIRE(liar.send<payload::SendFds>([&](payload::SendFds::Builder b) {
      b.setAnnounced(l.announced);
      b.setAttached(l.attached);
    }));
    auto reason = liar.join(patience);
    BOOST_REQUIRE_MESSAGE(reason, (reason ? "" : to_string(reason.error())));
    BOOST_TEST((reason->what == exit_reason::kind::protocol_error), to_string(*reason));
    BOOST_TEST(reason->detail.find("descriptor") != std::string::npos, reason->detail);
    BOOST_TEST(test_helpers::fds_opened_since(host_fds) == "");  // the liar's link and descriptors are closed
  }
  BOOST_TEST(test_helpers::fds_opened_since(host_fds) == "");
  BOOST_TEST(fds_in(witness) > 0u);  // the node and its other actors are fine
}

// ---- 64 MiB and the frame limit

BOOST_AUTO_TEST_CASE(sixty_four_mib_go_actor_to_actor_routed_and_direct_as_data_and_as_a_buffer) {
  node n{table()};
  auto from = n.spawn("reader").value();
  auto to = n.spawn("reader").value();
  uint64_t want = pattern_checksum(mib64);
  for (bool direct : {false, true}) {
    if (direct) BOOST_REQUIRE(n.connect(from, to));
    for (auto mode : {payload::Push::Mode::DATA, payload::Push::Mode::BUFFER}) {
      auto took = forward(from, to, mib64, mode);
      BOOST_TEST(took.getBytes() == mib64);
      BOOST_TEST(took.getSum() == want);
    }
  }
}

// The default frame limit is the largest payload (64 MiB) plus the envelope's
// headroom: a message whose frame is exactly at the limit passes, one byte
// more is refused by its sender with too_large, and nobody is hurt.
BOOST_AUTO_TEST_CASE(the_largest_frame_passes_and_one_byte_more_is_too_large) {
  wire::limits lim;
  BOOST_TEST(lim.max_frame_bytes == wire::limits::max_payload_bytes + wire::limits::envelope_headroom);
  auto frame_of = [](std::size_t data) {
    wire::envelope_builder env;
    env.address(1, 0, 0);
    env.init_user<payload::BigData>().initData(static_cast<unsigned>(data));
    return wire::framed_size(env.message());
  };
  std::size_t largest = mib64 + (lim.max_frame_bytes - frame_of(mib64));
  BOOST_REQUIRE(frame_of(largest) == lim.max_frame_bytes);
  BOOST_REQUIRE(frame_of(largest + 1) > lim.max_frame_bytes);

  node n{table()};
  auto a = n.spawn("reader").value();
  std::vector<uint8_t> bytes(largest + 1, 3);
  auto fill = [&](std::size_t size) {
    return [&, size](payload::BigData::Builder b) { b.setData(kj::arrayPtr(bytes.data(), size)); };
  };
  auto at_limit = a.request<payload::BigData, payload::Took>(fill(largest), patience);
  BOOST_REQUIRE_MESSAGE(at_limit, (at_limit ? "" : to_string(at_limit.error())));
  BOOST_TEST(at_limit->getBytes() == largest);
  auto over = a.request<payload::BigData, payload::Took>(fill(largest + 1), patience);
  BOOST_REQUIRE(!over);
  BOOST_TEST((over.error().code == errc::too_large), to_string(over.error()));
  BOOST_TEST(fds_in(a) > 0u);  // still serving
}
