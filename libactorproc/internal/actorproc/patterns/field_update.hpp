#pragma once
// field_update: the pure rule of a dict's atomic update (patterns/shared.hpp,
// dict_client::update): Int64 fields of one stored Cap'n Proto struct,
// changed in place by a list of operations that apply all or none.
// Internal: the dict's actor applies it, rules_test-style unit tests check it.
//
// A field is addressed as Cap'n Proto lays it out: its slot offset in the
// struct's data section (in units of 8 bytes for an Int64) and its default
// value, since Cap'n Proto stores a field as value XOR default. The client
// finds both in T's schema by the field's name, so the dict needs no schema.

#include <actorproc/base/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace actorproc::detail {

struct field_op {
  enum class kind : uint8_t { add, set, compare_and_set };
  uint32_t offset = 0;        // slot offset of an Int64 field
  int64_t default_value = 0;  // the field's schema default
  kind what = kind::add;
  int64_t operand = 0;   // add: the delta; set and compare_and_set: the new value
  int64_t expected = 0;  // compare_and_set: the value it must hold
};

struct field_update_result {
  /// false: a compare_and_set found another value, and nothing was changed.
  bool applied = true;
  /// Each operation's field after the update (the current values if not applied).
  std::vector<int64_t> values;
};

/// Applies `ops` to `data` (a struct's data section), in order, or none of
/// them: every one is checked first. Fails with invalid_argument when a field
/// lies outside the data section or an add overflows Int64.
expected<field_update_result> apply_field_ops(std::span<std::byte> data, std::span<const field_op> ops);

}  // namespace actorproc::detail
