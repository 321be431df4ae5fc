// The wire layer alone: framing, limits, malformed input, descriptor passing.
// Longer than 450 lines on purpose: one suite per concept, so that `--run_test`
// and ctest's labels select a concept; its cases share this file's fixtures.
#define BOOST_TEST_MODULE wire
#include <boost/test/unit_test.hpp>

#include <actorproc/actor/system_lane.hpp>
#include <actorproc/wire/batch_builder.hpp>
#include <actorproc/wire/blocking_io.hpp>
#include <actorproc/wire/envelope.hpp>
#include <actorproc/wire/frame_decoder.hpp>
#include <actorproc/wire/frame_writer.hpp>
#include <actorproc/wire/payload_scratch.hpp>
#include <examples/messages.capnp.h>
#include <tests/testing.capnp.h>

#include <capnp/serialize.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>
#include <optional>
#include <vector>

using namespace actorproc;
using namespace std::chrono_literals;

namespace {

struct socket_pair {
  unique_fd a, b;
  socket_pair() {
    int sv[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

std::vector<std::byte> frame_of(wire::envelope_builder& env) {
  auto words = capnp::messageToFlatArray(env.message());
  auto bytes = words.asBytes();
  return {reinterpret_cast<const std::byte*>(bytes.begin()), reinterpret_cast<const std::byte*>(bytes.end())};
}

std::vector<std::byte> ping_frame(uint64_t seq) {
  wire::envelope_builder env;
  env.address(2, 1, seq);
  env.init_user<demo::Ping>().setSeq(seq);
  return frame_of(env);
}

uint64_t seq_of(kj::ArrayPtr<const capnp::word> frame) {
  wire::envelope_reader env(frame, {});
  return env.get().getUser().getBody().getAs<demo::Ping>().getSeq();
}

// The frames a frame_writer holds, as a receiver reads them (copied out of the decoder).
std::vector<std::vector<capnp::word>> frames_written_by(wire::frame_writer& out) {
  socket_pair sp;
  std::size_t bytes = out.size();
  BOOST_REQUIRE(bytes < 100 * 1024);  // fits in the socket: flushed at once
  BOOST_REQUIRE(out.flush(sp.a.get()) == wire::flush_status::done);
  wire::frame_decoder in;
  std::vector<std::vector<capnp::word>> frames;
  std::size_t seen = 0;
  for (int reads = 0; reads < 1000 && seen < bytes; ++reads) {
    in.read_from(sp.b.get(), true);
    while (auto frame = in.next()) {
      frames.emplace_back(frame->size());
      std::memcpy(frames.back().data(), frame->begin(), frame->size() * sizeof(capnp::word));
      seen += frame->size() * sizeof(capnp::word);
    }
  }
  BOOST_REQUIRE(seen == bytes);
  return frames;
}

std::vector<capnp::word> frame_written_by(wire::frame_writer& out) {
  auto frames = frames_written_by(out);
  BOOST_REQUIRE(frames.size() == 1u);
  return std::move(frames[0]);
}

kj::ArrayPtr<const capnp::word> view(const std::vector<capnp::word>& words) {
  return kj::arrayPtr(words.data(), words.size());
}

}  // namespace

// As the worker uses it: join the open batch if it accepts, else close it and
// open another; close it when full.
BOOST_AUTO_TEST_CASE(a_burst_becomes_a_few_batch_frames_with_every_message_in_order) {
  wire::batch_builder batch;
  wire::frame_writer out;
  constexpr uint64_t burst = 1000;
  for (uint64_t i = 0; i < burst; ++i) {
    if (!batch.accepts(9, 4)) {
      batch.close_into(out);
      batch.open(9, 4);
    }
    batch.add<demo::Ping>().setSeq(i);
    if (batch.full()) batch.close_into(out);
  }
  BOOST_TEST(!batch.accepts(8, 4));  // another destination
  BOOST_TEST(!batch.accepts(9, 5));  // another sender
  batch.close_into(out);
  BOOST_TEST(batch.empty());
  auto frames = frames_written_by(out);
  BOOST_TEST(frames.size() < burst / 50);  // the lists grow with the burst
  uint64_t expected = 0;
  for (auto& words : frames) {
    wire::envelope_reader env(view(words), {});
    BOOST_REQUIRE(env.get().isBatch());
    BOOST_TEST(env.get().getTo() == 9u);
    BOOST_TEST(env.get().getFrom() == 4u);
    BOOST_TEST(env.get().getCorrelation() == 0u);
    BOOST_TEST(wire::message_count(env.get()) == env.get().getBatch().size());
    for (auto payload : env.get().getBatch()) {
      BOOST_REQUIRE(payload.getTypeId() == capnp::typeId<demo::Ping>());
      BOOST_TEST(payload.getBody().getAs<demo::Ping>().getSeq() == expected++);
    }
  }
  BOOST_TEST(expected == burst);
}

BOOST_AUTO_TEST_CASE(a_batch_of_one_is_a_plain_user_envelope) {
  wire::batch_builder batch;
  batch.open(9, 4);
  batch.add<demo::Ping>().setSeq(42);
  wire::frame_writer out;
  batch.close_into(out);
  auto words = frame_written_by(out);
  BOOST_TEST(seq_of(view(words)) == 42u);
}

// Under backpressure the node counts a batch with its free slots (the frame
// carries them as zeros) and opens it with no more slots than there is room.
BOOST_AUTO_TEST_CASE(a_batch_frame_is_never_larger_than_its_reserved_bytes_and_its_list_can_be_capped) {
  for (std::size_t cap : {std::size_t{1}, std::size_t{100}, SIZE_MAX}) {
    wire::batch_builder batch;
    batch.open(9, 0, cap);
    // At most as many slots as the bytes allow (one at least); 8 by default.
    BOOST_TEST(!batch.at_capacity());
    batch.add<demo::Ping>().setSeq(1);
    BOOST_TEST(batch.at_capacity() == (cap < 2 * wire::batch_builder::slot_bytes));
    if (batch.accepts(9, 0)) batch.add<demo::Ping>().setSeq(2);
    BOOST_TEST(batch.size_bytes() <= batch.reserved_bytes());
    // Its list (the slots the bytes allow) plus the root and the bodies.
    if (cap != SIZE_MAX) BOOST_TEST(batch.reserved_bytes() <= std::max(cap, wire::batch_builder::slot_bytes) + 150);
    std::size_t reserved = batch.reserved_bytes();
    wire::frame_writer out;
    batch.close_into(out);
    BOOST_TEST(out.size() <= reserved);
  }
}

// The scratch a host thread builds its batched messages in: a lease's
// builder stays valid while sends nested in its fill take hundreds of slots.
BOOST_AUTO_TEST_CASE(a_scratch_lease_stays_valid_while_nested_leases_use_up_the_slots) {
  wire::payload_lease outer;
  auto ping = outer.init<demo::Ping>();
  ping.setSeq(7);
  for (unsigned i = 0; i < 3 * wire::payload_scratch::slots; ++i) {
    wire::payload_lease nested;
    nested.init<demo::Ping>().setSeq(i);
    BOOST_REQUIRE(nested.get().getBody().getAs<demo::Ping>().getSeq() == i);
  }
  ping.initPayload(5000);  // a body beyond the first segment, built after the others
  BOOST_TEST(outer.get().getTypeId() == capnp::typeId<demo::Ping>());
  BOOST_TEST(outer.get().getBody().getAs<demo::Ping>().getSeq() == 7u);
  BOOST_TEST(outer.get().getBody().getAs<demo::Ping>().getPayload().size() == 5000u);
}

BOOST_AUTO_TEST_CASE(scratch_leases_taken_one_after_another_start_empty) {
  for (unsigned i = 0; i < 2 * wire::payload_scratch::slots + 3; ++i) {
    wire::payload_lease lease;
    BOOST_REQUIRE(lease.get().getTypeId() == 0u);
    BOOST_REQUIRE(lease.get().getBody().isNull());
    lease.init<demo::Ping>().initPayload(i % 7 == 0 ? 40000 : 8);  // some grow the message
  }
}

// Taking a message back (its filling failed, or it is too large) leaves the
// others in order, and the frame carries nothing of the dropped one.
BOOST_AUTO_TEST_CASE(a_message_taken_back_leaves_the_rest_in_order_and_no_trace_in_the_frame) {
  wire::batch_builder batch;
  batch.open(9, 4);
  for (uint64_t i = 0; i < 4; ++i) {
    auto ping = batch.add<demo::Ping>();
    ping.setSeq(i);
    if (i == 1) ping.initPayload(100000);
  }
  BOOST_TEST(batch.size_bytes() > 100000u);
  batch.drop(1);
  BOOST_TEST(batch.count() == 3u);
  BOOST_TEST(batch.size_bytes() < 1000u);
  wire::frame_writer out;
  batch.close_into(out);
  BOOST_TEST(out.size() < 1000u);
  auto words = frame_written_by(out);
  wire::envelope_reader env(view(words), {});
  std::vector<uint64_t> seqs;
  for (auto payload : env.get().getBatch()) seqs.push_back(payload.getBody().getAs<demo::Ping>().getSeq());
  BOOST_TEST(seqs == (std::vector<uint64_t>{0, 2, 3}), boost::test_tools::per_element());
}

// A batch closes at its size limit. Its frame carries what its messages need,
// not the list's spare slots, and the next batch's list fits the burst.
BOOST_AUTO_TEST_CASE(a_batch_closes_at_its_size_limit_and_carries_no_spare_slots) {
  wire::batch_builder batch;
  std::vector<std::size_t> counts;
  for (int round = 0; round < 12; ++round) {
    batch.open(9, 4);
    uint64_t i = 0;
    do {
      batch.add<demo::Ping>().setSeq(i++);
    } while (!batch.full() && batch.count() < 100000);
    counts.push_back(batch.count());
    std::size_t needed = batch.size_bytes();
    // The first lists are short and fill up; then the size limit closes each batch.
    if (round >= 8) BOOST_TEST(needed >= wire::batch_builder::close_at_bytes);
    wire::frame_writer out;
    batch.close_into(out);
    BOOST_TEST(out.size() <= needed + 64);  // plus the segment table, never the unused slots
    BOOST_TEST(out.size() <= wire::batch_builder::close_at_bytes + 256);
  }
  // After the ramp-up, every batch of this burst has the same length.
  BOOST_TEST(counts.back() == counts[counts.size() - 2]);
  BOOST_TEST(counts.back() > 100u);
}

BOOST_AUTO_TEST_CASE(a_batch_with_a_correlation_or_descriptors_is_refused) {
  for (bool correlation : {true, false}) {
    capnp::MallocMessageBuilder message;
    auto env = message.initRoot<schema::Envelope>();
    if (correlation) {
      env.setCorrelation(3);
    } else {
      env.setFdCount(1);
    }
    env.initBatch(1)[0].setTypeId(capnp::typeId<demo::Ping>());
    auto words = capnp::messageToFlatArray(message);
    BOOST_CHECK_EXCEPTION(wire::envelope_reader(words, {}), wire::protocol_error, [](const wire::protocol_error& e) {
      return std::strstr(e.what(), "batch of one-way messages") != nullptr;
    });
  }
}

// Pointers may alias: 4096 list elements all pointing at one 32 KiB blob make
// a 64 KiB frame that a naive walk would read as 128 MiB. The traversal limit
// stops the walk, and the frame is refused.
BOOST_AUTO_TEST_CASE(aliased_pointers_cannot_amplify_the_validation_walk) {
  constexpr unsigned elements = 4096;
  constexpr unsigned blob_bytes = 32 * 1024;
  capnp::MallocMessageBuilder message(4 * elements);  // one segment
  auto env = message.initRoot<schema::Envelope>();
  auto user = env.initUser();
  user.setTypeId(1);
  auto list = user.getBody().initAs<capnp::List<capnp::Data>>(elements);
  list.init(0, blob_bytes);
  auto words = capnp::messageToFlatArray(message);
  BOOST_REQUIRE(message.getSegmentsForOutput().size() == 1u);
  // Find element 0's pointer (a byte list of blob_bytes elements) and aim every other element at its blob.
  auto* raw = reinterpret_cast<uint64_t*>(words.begin());
  const uint64_t upper = (uint64_t{blob_bytes} << 3 | 2) << 32;
  std::size_t first = 0;
  for (std::size_t w = 1; w < words.size() && first == 0; ++w) {
    if ((raw[w] & 0xFFFFFFFF00000000ull) == upper && (raw[w] & 3) == 1) first = w;
  }
  BOOST_REQUIRE(first != 0);
  int64_t offset0 = static_cast<int32_t>(static_cast<uint32_t>(raw[first])) >> 2;
  for (unsigned i = 1; i < elements; ++i) {
    int64_t offset = offset0 - i;  // relative to the end of element i's own pointer
    raw[first + i] = upper | (static_cast<uint32_t>(offset << 2) | 1u);
  }
  BOOST_CHECK_EXCEPTION(wire::envelope_reader(words, {}), wire::protocol_error, [](const wire::protocol_error& e) {
    return std::strstr(e.what(), "traversal limit") != nullptr;
  });
  // The same frame without the aliases is fine.
  for (unsigned i = 1; i < elements; ++i) raw[first + i] = 0;
  BOOST_CHECK_NO_THROW(wire::envelope_reader(words, {}));
}

BOOST_AUTO_TEST_CASE(frames_fed_one_byte_at_a_time_come_out_whole_and_in_order) {
  std::vector<std::byte> stream;
  for (uint64_t i = 1; i <= 50; ++i) {
    auto f = ping_frame(i);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  wire::frame_decoder decoder;
  uint64_t expected_seq = 1;
  for (std::byte b : stream) {
    decoder.feed(&b, 1);
    while (auto frame = decoder.next()) BOOST_TEST(seq_of(*frame) == expected_seq++);
  }
  BOOST_TEST(expected_seq == 51u);
  BOOST_TEST(decoder.buffered_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(a_frame_with_too_many_segments_is_refused_from_its_first_word) {
  wire::frame_decoder decoder;
  uint32_t header[2] = {5000, 1};
  decoder.feed(header, sizeof header);
  BOOST_CHECK_EXCEPTION(decoder.next(), wire::protocol_error,
                        [](const wire::protocol_error& e) { return std::strstr(e.what(), "segments") != nullptr; });
}

BOOST_AUTO_TEST_CASE(an_oversized_frame_is_refused_before_its_body_arrives) {
  wire::limits small;
  small.max_frame_bytes = 1024;
  wire::frame_decoder decoder(small);
  uint32_t header[2] = {0, 1000};  // 8000 bytes announced
  decoder.feed(header, sizeof header);
  BOOST_CHECK_EXCEPTION(decoder.next(), wire::protocol_error, [](const wire::protocol_error& e) {
    return std::strstr(e.what(), "exceeds the limit") != nullptr;
  });
  BOOST_TEST(decoder.buffered_bytes() == sizeof header);  // nothing was allocated for the body
}

BOOST_AUTO_TEST_CASE(a_frame_with_no_content_is_refused) {
  wire::frame_decoder decoder;
  uint32_t header[2] = {0, 0};
  decoder.feed(header, sizeof header);
  BOOST_CHECK_THROW(decoder.next(), wire::protocol_error);
}

BOOST_AUTO_TEST_CASE(an_out_of_bounds_pointer_is_a_protocol_error_not_a_crash) {
  uint32_t frame[6] = {0, 2, (1000u << 2), 0x00010000u, 0, 0};
  wire::frame_decoder decoder;
  decoder.feed(frame, sizeof frame);
  auto f = decoder.next();
  BOOST_REQUIRE(f);
  BOOST_CHECK_THROW(wire::envelope_reader(*f, {}), wire::protocol_error);
}

BOOST_AUTO_TEST_CASE(a_bad_pointer_deep_inside_a_user_payload_is_caught_at_the_door) {
  auto bytes = ping_frame(7);
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), bytes.size());
  auto* raw = reinterpret_cast<uint64_t*>(words.data());
  // The segment's last word is the Ping's (null) `payload` pointer: aim it far outside the segment.
  raw[words.size() - 1] = (uint64_t{1000} << 35) | (uint64_t{2} << 32) | (uint64_t{100000} << 2) | 1;  // 1000 bytes
  BOOST_CHECK_THROW(wire::envelope_reader(kj::arrayPtr(words.data(), words.size()), {}), wire::protocol_error);
}

BOOST_AUTO_TEST_CASE(an_envelope_of_unknown_kind_is_refused) {
  capnp::MallocMessageBuilder message;
  auto fake = message.initRoot<testing::FakeEnvelope>();
  fake.initF().setAs<capnp::Text>("from the future");
  auto words = capnp::messageToFlatArray(message);
  BOOST_CHECK_EXCEPTION(wire::envelope_reader(words, {}), wire::protocol_error, [](const wire::protocol_error& e) {
    return std::strstr(e.what(), "unknown envelope kind") != nullptr;
  });
}

BOOST_AUTO_TEST_CASE(a_clean_close_between_frames_is_end_of_stream_and_mid_frame_is_truncation) {
  {
    socket_pair sp;
    auto f = ping_frame(1);
    ::send(sp.a.get(), f.data(), f.size(), 0);
    sp.a.reset();
    wire::frame_decoder decoder;
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    BOOST_TEST((wire::wait_for_frame(sp.b.get(), decoder, 1000ms, frame) == wire::wait_result::frame));
    BOOST_TEST((decoder.read_from(sp.b.get()) == wire::read_status::end_of_stream));
  }
  {
    socket_pair sp;
    auto f = ping_frame(1);
    ::send(sp.a.get(), f.data(), f.size() - 3, 0);
    sp.a.reset();
    wire::frame_decoder decoder;
    BOOST_TEST((decoder.read_from(sp.b.get()) == wire::read_status::data));
    BOOST_TEST(!decoder.next());
    BOOST_TEST((decoder.read_from(sp.b.get()) == wire::read_status::truncated));
  }
}

// claim_fds() holds every frame to what came with its first byte: frames with
// and without descriptors interleave in one stream, many per read, and each
// gets its own; a count that does not match is a protocol error.
BOOST_AUTO_TEST_CASE(each_frame_claims_exactly_the_descriptors_that_came_with_it) {
  socket_pair sp;
  wire::frame_writer writer;
  const unsigned counts[] = {0, 2, 0, 0, 1, 3, 0};
  for (unsigned i = 0; i < std::size(counts); ++i) {
    wire::envelope_builder env;
    env.address(1, 0, 0);
    env.envelope().setFdCount(static_cast<uint8_t>(counts[i]));
    env.envelope().initSystem().setPeer(i);
    std::vector<unique_fd> fds;
    for (unsigned k = 0; k < counts[i]; ++k) {
      int pipe_fds[2];
      BOOST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
      ::close(pipe_fds[0]);
      fds.emplace_back(pipe_fds[1]);
    }
    writer.append(env.message(), std::move(fds));
  }
  BOOST_REQUIRE(wire::flush_blocking(sp.a.get(), writer, 1000ms));
  wire::frame_decoder decoder;
  for (unsigned i = 0; i < std::size(counts); ++i) {
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    BOOST_REQUIRE((wire::wait_for_frame(sp.b.get(), decoder, 1000ms, frame) == wire::wait_result::frame));
    wire::envelope_reader env(*frame, {});
    BOOST_TEST(env.get().getSystem().getPeer() == i);
    auto fds = decoder.claim_fds(env.get().getFdCount());
    BOOST_TEST(fds.size() == counts[i]);
  }
  BOOST_TEST(decoder.pending_fds() == 0u);

  // A frame announcing one descriptor more than came with it.
  wire::envelope_builder liar;
  liar.address(1, 0, 0);
  liar.envelope().setFdCount(2);
  liar.envelope().initSystem().setPeer(9);
  int pipe_fds[2];
  BOOST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  ::close(pipe_fds[0]);
  std::vector<unique_fd> one;
  one.emplace_back(pipe_fds[1]);
  writer.append(liar.message(), std::move(one));
  BOOST_REQUIRE(wire::flush_blocking(sp.a.get(), writer, 1000ms));
  std::optional<kj::ArrayPtr<const capnp::word>> frame;
  BOOST_REQUIRE((wire::wait_for_frame(sp.b.get(), decoder, 1000ms, frame) == wire::wait_result::frame));
  BOOST_CHECK_THROW(decoder.claim_fds(2), wire::protocol_error);
  BOOST_TEST(decoder.pending_fds() == 0u);  // closed: the stream is broken
}

// A large frame is read into room of its announced size: it arrives whole,
// in few reads (never one per doubling), and the next one reuses the room.
BOOST_AUTO_TEST_CASE(a_large_frame_arrives_whole_and_the_next_one_too) {
  socket_pair sp;
  wire::frame_decoder decoder({}, std::size_t{8} << 20);
  for (int round = 0; round < 2; ++round) {
    wire::envelope_builder env;
    env.address(1, 0, 0);
    auto text = env.init_user<testing::Echo>().initText(4 << 20);
    std::memset(text.begin(), 'a' + round, text.size());
    wire::frame_writer writer;
    writer.append(env.message());
    std::size_t framed = writer.size();
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    while (!frame) {
      (void)writer.flush(sp.a.get());
      (void)decoder.read_from(sp.b.get());
      frame = decoder.next();
    }
    BOOST_TEST(frame->size() * sizeof(capnp::word) == framed);
    wire::envelope_reader read(*frame, {});
    auto got = read.get().getUser().getBody().getAs<testing::Echo>().getText();
    BOOST_TEST(got.size() == std::size_t{4} << 20);
    BOOST_TEST(got[got.size() - 1] == 'a' + round);
  }
}

BOOST_AUTO_TEST_CASE(descriptors_travel_with_their_frame_in_order) {
  socket_pair sp;
  wire::frame_writer writer;
  for (int i = 0; i < 3; ++i) {
    wire::envelope_builder env;
    env.address(1, 0, 0);
    env.envelope().setFdCount(1);
    env.envelope().initSystem().setPeer(static_cast<uint64_t>(i));
    int pipe_fds[2];
    BOOST_REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    ::close(pipe_fds[0]);
    std::vector<unique_fd> fds;
    fds.emplace_back(pipe_fds[1]);
    writer.append(env.message(), std::move(fds));
  }
  BOOST_REQUIRE(wire::flush_blocking(sp.a.get(), writer, 1000ms));
  wire::frame_decoder decoder;
  for (int i = 0; i < 3; ++i) {
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    BOOST_REQUIRE((wire::wait_for_frame(sp.b.get(), decoder, 1000ms, frame) == wire::wait_result::frame));
    wire::envelope_reader env(*frame, {});
    BOOST_TEST(env.get().getSystem().getPeer() == static_cast<uint64_t>(i));
    unique_fd fd = decoder.take_fd();
    BOOST_REQUIRE(fd.valid());
    struct stat st;
    BOOST_TEST(::fstat(fd.get(), &st) == 0);
    BOOST_TEST(S_ISFIFO(st.st_mode));
    BOOST_TEST((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);  // received close-on-exec
  }
}

BOOST_AUTO_TEST_CASE(a_full_socket_makes_the_writer_wait_without_losing_bytes) {
  socket_pair sp;
  wire::frame_writer writer;
  uint64_t appended = 0;
  while (true) {
    wire::envelope_builder env;
    env.address(2, 1, 0);
    env.init_user<demo::Ping>().setSeq(++appended);
    writer.append(env.message());
    if (writer.flush(sp.a.get()) == wire::flush_status::would_block) break;
    BOOST_REQUIRE(appended < 1000000u);
  }
  BOOST_TEST(!writer.empty());
  // Drain on the reading side while the writer finishes: every frame arrives once, in order.
  wire::frame_decoder decoder;
  uint64_t seen = 0;
  while (seen < appended) {
    writer.flush(sp.a.get());
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    BOOST_REQUIRE((wire::wait_for_frame(sp.b.get(), decoder, 1000ms, frame) == wire::wait_result::frame));
    BOOST_REQUIRE(seq_of(*frame) == ++seen);
  }
  BOOST_TEST(writer.empty());
}

BOOST_AUTO_TEST_CASE(held_frames_stay_readable_while_the_decoder_grows) {
  wire::frame_decoder decoder;
  auto first = ping_frame(1);
  decoder.feed(first.data(), first.size());
  auto frame = decoder.next();
  BOOST_REQUIRE(frame);
  decoder.hold();
  std::vector<std::byte> big(1 << 20);  // forces the buffer to be replaced
  decoder.feed(big.data(), big.size());
  BOOST_TEST(seq_of(*frame) == 1u);
  decoder.release();
}

namespace {

std::vector<std::byte> stop_frame() {
  wire::envelope_builder env;
  env.address(2, 0, 0);
  wire::write_exit_reason(env.envelope().initSystem().initStop(), exit_reason::normal());
  return frame_of(env);
}

kj::ArrayPtr<const capnp::word> words_of(const std::vector<std::byte>& bytes) {
  return kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / sizeof(capnp::word));
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_system_frame_is_told_from_its_union_tag_alone) {
  BOOST_TEST(wire::is_system_frame(words_of(stop_frame())));
  BOOST_TEST(!wire::is_system_frame(words_of(ping_frame(1))));
  // Anything it cannot read simply is "not system" (checked in its turn): never a crash.
  auto cut = stop_frame();
  cut.resize(16);
  BOOST_TEST(!wire::is_system_frame(words_of(cut)));
  auto far = stop_frame();
  far[8] = std::byte{2};  // the root pointer becomes a far pointer
  BOOST_TEST(!wire::is_system_frame(words_of(far)));
  auto wild = stop_frame();
  std::memset(wild.data() + 8, 0x7c, 4);  // a root pointer far out of its segment
  BOOST_TEST(!wire::is_system_frame(words_of(wild)));
}

BOOST_AUTO_TEST_CASE(a_frame_appended_ahead_overtakes_unstarted_frames_but_never_splits_one) {
  socket_pair sp;
  wire::frame_writer writer;
  // Fill the socket, then queue more: the writer is now in the middle of a frame or between two.
  uint64_t appended = 0;
  for (bool full = false; !full; ) {
    wire::envelope_builder env;
    env.address(2, 1, 0);
    env.init_user<demo::Ping>().setSeq(++appended);
    writer.append(env.message());
    full = writer.flush(sp.a.get()) == wire::flush_status::would_block;
  }
  for (int i = 0; i < 100; ++i) {
    wire::envelope_builder env;
    env.address(2, 1, 0);
    env.init_user<demo::Ping>().setSeq(++appended);
    writer.append(env.message());
  }
  wire::envelope_builder stop;
  stop.address(2, 0, 0);
  wire::write_exit_reason(stop.envelope().initSystem().initStop(), exit_reason::normal());
  writer.append_ahead(stop.message());
  // The reader sees every Ping once, in order, and the stop before the last 100.
  wire::frame_decoder decoder;
  uint64_t seen = 0, stop_after = 0;
  while (seen < appended) {
    writer.flush(sp.a.get());
    std::optional<kj::ArrayPtr<const capnp::word>> frame;
    BOOST_REQUIRE((wire::wait_for_frame(sp.b.get(), decoder, 1000ms, frame) == wire::wait_result::frame));
    wire::envelope_reader env(*frame, {});  // whole and valid: never cut by the frame ahead
    if (env.get().isSystem()) {
      BOOST_REQUIRE(stop_after == 0u);
      stop_after = seen;
      continue;
    }
    BOOST_REQUIRE(seq_of(*frame) == ++seen);
  }
  BOOST_TEST(stop_after > 0u);
  BOOST_TEST(stop_after <= appended - 100);
  BOOST_TEST(writer.empty());
}

BOOST_AUTO_TEST_CASE(peek_shows_buffered_frames_without_consuming_and_position_names_them) {
  wire::frame_decoder decoder;
  auto one = ping_frame(1), two = ping_frame(2);
  decoder.feed(one.data(), one.size());
  decoder.feed(two.data(), two.size() - 8);  // the second is not complete yet
  auto first = decoder.peek(0);
  BOOST_REQUIRE(first);
  BOOST_TEST(seq_of(*first) == 1u);
  BOOST_TEST(!decoder.peek(one.size()));
  decoder.feed(two.data() + two.size() - 8, 8);
  auto second = decoder.peek(one.size());
  BOOST_REQUIRE(second);
  BOOST_TEST(seq_of(*second) == 2u);
  BOOST_TEST(decoder.position() == 0u);
  BOOST_REQUIRE(decoder.next());
  BOOST_TEST(decoder.position() == one.size());  // where peek(one.size()) pointed
  auto next = decoder.next();
  BOOST_REQUIRE(next);
  BOOST_TEST(seq_of(*next) == 2u);
  BOOST_TEST(!decoder.peek(0));
}

namespace {

std::vector<std::byte> heartbeat_frame(uint64_t beat) {
  wire::envelope_builder env;
  env.address(2, 0, 0);
  env.envelope().initSystem().setHeartbeat(beat);
  return frame_of(env);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_system_lane_takes_stop_and_heartbeat_ahead_of_a_lasting_backlog_only) {
  using lane_clock = detail::system_lane::clock;
  detail::system_lane lane;
  wire::frame_decoder in;
  std::vector<std::vector<std::byte>> queue{ping_frame(1), ping_frame(2), heartbeat_frame(7), ping_frame(3),
                                            stop_frame()};
  for (auto& f : queue) in.feed(f.data(), f.size());
  auto t0 = lane_clock::now();
  // A backlog's first frame goes in order; the lane looks only once it lasted.
  BOOST_TEST(!lane.due(in.buffered_bytes(), t0));
  BOOST_TEST(!lane.due(in.buffered_bytes(), t0 + detail::system_lane::look_every / 2));
  BOOST_TEST(lane.due(in.buffered_bytes(), t0 + detail::system_lane::look_every));
  BOOST_TEST(!lane.due(in.buffered_bytes(), t0 + detail::system_lane::look_every));  // not twice at once
  lane.scan(in, {});
  // Heartbeat, then stop, ahead of the Pings; the Pings in order, each once.
  auto first = lane.take();
  BOOST_REQUIRE(first);
  BOOST_TEST(first->envelope().getSystem().isHeartbeat());
  auto second = lane.take();
  BOOST_REQUIRE(second);
  BOOST_TEST(second->envelope().getSystem().isStop());
  BOOST_TEST(!lane.take());
  std::vector<uint64_t> handled;
  int skipped = 0;
  while (true) {
    uint64_t position = in.position();
    auto frame = in.next();
    if (!frame) break;
    if (lane.taken_ahead(position, frame->size() * sizeof(capnp::word))) {
      ++skipped;
      continue;
    }
    handled.push_back(seq_of(*frame));
  }
  BOOST_TEST(skipped == 2);
  BOOST_TEST((handled == std::vector<uint64_t>{1, 2, 3}));
  // An empty mailbox ends the backlog: the next one starts in order again.
  BOOST_TEST(!lane.due(0, t0 + 10 * detail::system_lane::look_every));
  BOOST_TEST(!lane.due(64, t0 + 10 * detail::system_lane::look_every));
}

BOOST_AUTO_TEST_CASE(the_system_lane_leaves_a_malformed_frame_for_its_turn_and_scans_each_frame_once) {
  detail::system_lane lane;
  wire::frame_decoder in;
  auto good = ping_frame(1);
  auto bad = stop_frame();
  bad[8] = std::byte{0xff};  // a root pointer of the wrong kind: not read as system, never thrown
  in.feed(good.data(), good.size());
  in.feed(bad.data(), bad.size());
  lane.scan(in, {});
  BOOST_TEST(!lane.take());
  auto stop = stop_frame();
  in.feed(stop.data(), stop.size());
  lane.scan(in, {});  // only the new frame is looked at
  auto taken = lane.take();
  BOOST_REQUIRE(taken);
  BOOST_TEST(taken->envelope().getSystem().isStop());
}
