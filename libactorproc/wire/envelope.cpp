#include <actorproc/wire/envelope.hpp>

#include <kj/exception.h>

namespace actorproc::wire {
namespace {

schema::Envelope::Reader checked_root(capnp::FlatArrayMessageReader& reader, std::size_t frame_bytes) {
  try {
    auto root = reader.getRoot<schema::Envelope>();
    switch (root.which()) {
      case schema::Envelope::USER:
      case schema::Envelope::RESPONSE:
      case schema::Envelope::FAILURE:
        break;
      case schema::Envelope::SYSTEM: {
        auto system = root.getSystem();
        if (static_cast<uint16_t>(system.which()) > static_cast<uint16_t>(schema::System::CREDIT)) {
          throw protocol_error("unknown system message kind " + std::to_string(static_cast<uint16_t>(system.which())));
        }
        break;
      }
      default:
        throw protocol_error("unknown envelope kind " + std::to_string(static_cast<uint16_t>(root.which())));
    }
    // Walk every pointer once: a malformed payload fails here, not inside a handler.
    (void)reader.getRoot<capnp::AnyPointer>().targetSize();
    (void)frame_bytes;
    return root;
  } catch (const kj::Exception& e) {
    throw protocol_error(std::string("malformed frame: ") + e.getDescription().cStr());
  }
}

capnp::FlatArrayMessageReader make_reader(kj::ArrayPtr<const capnp::word> frame, const limits& lim) {
  try {
    return capnp::FlatArrayMessageReader(frame, lim.reader_options(frame.size() * sizeof(capnp::word)));
  } catch (const kj::Exception& e) {
    throw protocol_error(std::string("malformed segment table: ") + e.getDescription().cStr());
  }
}

}  // namespace

envelope_reader::envelope_reader(kj::ArrayPtr<const capnp::word> frame, const limits& lim)
    : reader_(make_reader(frame, lim)), root_(checked_root(reader_, frame.size() * sizeof(capnp::word))) {}

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

}  // namespace actorproc::wire
