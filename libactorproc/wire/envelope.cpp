#include <actorproc/wire/envelope.hpp>

#include <capnp/schema.h>
#include <kj/exception.h>

#include <cstring>

namespace actorproc::wire {
namespace {

// Reading a typed pointer field checks that the pointer is of the right kind (a
// struct, a text with its NUL...) and throws otherwise. Every pointer field of
// the runtime's own schema is read here, once, so that no later access to the
// envelope can throw: the reactor and the worker loop read these fields freely.
void check_exit_reason(schema::ExitReason::Reader reason) { (void)reason.getDetail(); }

void check_fields(schema::Envelope::Reader root) {
  switch (root.which()) {
    case schema::Envelope::USER:
      (void)root.getUser();
      return;  // the body is any pointer: walked below
    case schema::Envelope::RESPONSE:
      (void)root.getResponse();
      return;
    case schema::Envelope::BATCH:
      // One-way messages only: a correlation or descriptors would have no one message to belong to.
      if (root.getCorrelation() != 0) throw protocol_error("a batch of one-way messages carries a correlation id");
      if (root.getFdCount() != 0) throw protocol_error("a batch of one-way messages carries descriptors");
      (void)root.getBatch();
      return;  // the bodies are walked below
    case schema::Envelope::FAILURE: {
      auto failure = root.getFailure();
      (void)failure.getMessage();
      check_exit_reason(failure.getReason());
      return;
    }
    case schema::Envelope::SYSTEM: {
      auto system = root.getSystem();
      switch (system.which()) {
        case schema::System::STOP:
          check_exit_reason(system.getStop());
          return;
        case schema::System::EXIT:
          check_exit_reason(system.getExit());
          return;
        case schema::System::DOWN:
          check_exit_reason(system.getDown().getReason());
          return;
        case schema::System::READY:
        case schema::System::MONITOR:
        case schema::System::HEARTBEAT:
        case schema::System::PEER:
        case schema::System::CREDIT:
        case schema::System::CONNECT:
          return;
        default:
          throw protocol_error("unknown system message kind " + std::to_string(static_cast<uint16_t>(system.which())));
      }
    }
    default:
      throw protocol_error("unknown envelope kind " + std::to_string(static_cast<uint16_t>(root.which())));
  }
}

}  // namespace

schema::Envelope::Reader validated_root(capnp::MessageReader& reader) {
  try {
    auto root = reader.getRoot<schema::Envelope>();
    check_fields(root);
    // Walk every pointer once: a malformed payload fails here, not inside a handler.
    auto size = reader.getRoot<capnp::AnyPointer>().targetSize();
    // Every list read counts at least a word per element against the traversal
    // limit, even for elements of no size. A batch announcing more messages than
    // its frame has words would exhaust the limit when the receiver reads it
    // again to dispatch; an honest one takes two words per message.
    if (root.isBatch() && root.getBatch().size() > size.wordCount) {
      throw protocol_error("a batch announces more messages than its frame holds");
    }
    return root;
  } catch (const kj::Exception& e) {
    throw protocol_error(std::string("malformed frame: ") + e.getDescription().cStr());
  }
}

capnp::FlatArrayMessageReader open_frame(kj::ArrayPtr<const capnp::word> frame, const limits& lim) {
  try {
    return capnp::FlatArrayMessageReader(frame, lim.reader_options(frame.size() * sizeof(capnp::word)));
  } catch (const kj::Exception& e) {
    throw protocol_error(std::string("malformed segment table: ") + e.getDescription().cStr());
  }
}

envelope_reader::envelope_reader(kj::ArrayPtr<const capnp::word> frame, const limits& lim)
    : reader_(open_frame(frame, lim)), root_(validated_root(reader_)) {}

void write_exit_reason(schema::ExitReason::Builder out, const exit_reason& reason) {
  out.setKind(static_cast<schema::ExitReason::Kind>(reason.what));
  out.setCode(reason.code);
  out.setSignal(reason.signal);
  out.setCoreDumped(reason.core_dumped);
  if (!reason.detail.empty()) out.setDetail(reason.detail);
}

exit_reason read_exit_reason(schema::ExitReason::Reader in) {
  auto kind = static_cast<uint16_t>(in.getKind());
  exit_reason reason;
  reason.what = kind <= static_cast<uint16_t>(exit_reason::kind::oom) ? static_cast<exit_reason::kind>(kind)
                                                                      : exit_reason::kind::protocol_error;
  reason.code = in.getCode();
  reason.signal = in.getSignal();
  reason.core_dumped = in.getCoreDumped();
  reason.detail = in.getDetail();
  return reason;
}

bool is_system_frame(kj::ArrayPtr<const capnp::word> frame) {
  // Where the generated code keeps Envelope's union tag, in 16-bit units of its data section.
  static const uint32_t tag_offset =
      capnp::Schema::from<schema::Envelope>().getProto().getStruct().getDiscriminantOffset();
  auto bytes = frame.asBytes();
  auto load32 = [&](std::size_t at) {
    uint32_t v;
    std::memcpy(&v, bytes.begin() + at, sizeof v);
    return v;
  };
  if (bytes.size() < 16) return false;
  uint64_t segments = uint64_t{load32(0)} + 1;
  uint64_t table = (4 * (segments + 1) + 7) / 8 * 8;
  uint64_t first_words = load32(4);
  if (table + 8 * first_words > bytes.size() || first_words == 0) return false;
  const capnp::byte* first = bytes.begin() + table;
  uint64_t root;
  std::memcpy(&root, first, sizeof root);
  if ((root & 3) != 0) return false;  // not a struct pointer within the segment
  int64_t data_start = 1 + (static_cast<int32_t>(root & 0xffffffffu) >> 2);
  uint64_t data_words = (root >> 32) & 0xffffu;
  if (data_start < 0 || static_cast<uint64_t>(data_start) + data_words > first_words) return false;
  uint64_t tag_byte = uint64_t{tag_offset} * 2;
  if (tag_byte + 2 > data_words * 8) return false;  // a tag beyond the data section reads as 0: user
  uint16_t tag;
  std::memcpy(&tag, first + static_cast<uint64_t>(data_start) * 8 + tag_byte, sizeof tag);
  return tag == static_cast<uint16_t>(schema::Envelope::SYSTEM);
}

}  // namespace actorproc::wire
