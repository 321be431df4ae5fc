#include <actorproc/patterns/field_update.hpp>

#include <cstring>
#include <string>

namespace actorproc::detail {
namespace {

int64_t load(std::span<std::byte> data, const field_op& op) {
  uint64_t raw;
  std::memcpy(&raw, data.data() + std::size_t{op.offset} * 8, 8);  // little-endian, as Cap'n Proto
  return static_cast<int64_t>(raw ^ static_cast<uint64_t>(op.default_value));
}

void store(std::span<std::byte> data, const field_op& op, int64_t value) {
  uint64_t raw = static_cast<uint64_t>(value) ^ static_cast<uint64_t>(op.default_value);
  std::memcpy(data.data() + std::size_t{op.offset} * 8, &raw, 8);
}

}  // namespace

expected<field_update_result> apply_field_ops(std::span<std::byte> data, std::span<const field_op> ops) {
  // First pass: every operation on a copy of the values it touches, so that a
  // later one sees an earlier one's effect and a failure changes nothing.
  field_update_result result;
  result.values.reserve(ops.size());
  std::vector<std::pair<uint32_t, int64_t>> staged;  // offset -> value, in the order first touched
  auto current = [&](const field_op& op) {
    for (auto& [offset, value] : staged) {
      if (offset == op.offset) return value;
    }
    return load(data, op);
  };
  auto stage = [&](const field_op& op, int64_t value) {
    for (auto& [offset, v] : staged) {
      if (offset == op.offset) {
        v = value;
        return;
      }
    }
    staged.emplace_back(op.offset, value);
  };
  for (const auto& op : ops) {
    if ((std::size_t{op.offset} + 1) * 8 > data.size()) {
      return error(errc::invalid_argument, "field at offset " + std::to_string(op.offset) +
                                               " lies outside the stored value (another type's layout?)");
    }
    int64_t now = current(op);
    int64_t next = now;
    switch (op.what) {
      case field_op::kind::add:
        if (__builtin_add_overflow(now, op.operand, &next)) {
          return error(errc::invalid_argument, "adding " + std::to_string(op.operand) + " to " +
                                                   std::to_string(now) + " overflows Int64");
        }
        break;
      case field_op::kind::set:
        next = op.operand;
        break;
      case field_op::kind::compare_and_set:
        if (now != op.expected) result.applied = false;
        next = op.operand;
        break;
    }
    stage(op, next);
    result.values.push_back(next);
  }
  if (!result.applied) {
    // A compare failed: nothing changes, and the caller sees what is there.
    for (std::size_t i = 0; i < ops.size(); ++i) result.values[i] = load(data, ops[i]);
    return result;
  }
  for (const auto& op : ops) {
    for (auto& [offset, value] : staged) {
      if (offset == op.offset) store(data, op, value);
    }
  }
  return result;
}

}  // namespace actorproc::detail
