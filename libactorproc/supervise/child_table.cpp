#include "child_table.hpp"

#include <charconv>

namespace actorproc::detail {

child_slot* child_table::find(std::string_view id) {
  for (auto& c : slots_) {
    if (c.spec.id == id) return &c;
  }
  return nullptr;
}

child_slot* child_table::find_key(uint64_t key) {
  for (auto& c : slots_) {
    if (c.key == key) return &c;
  }
  return nullptr;
}

std::size_t child_table::index_of(uint64_t key) const {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].key == key) return i;
  }
  return slots_.size();
}

child_slot& child_table::add(child_spec spec, std::shared_ptr<name_entry> name) {
  child_slot slot;
  slot.key = next_key_++;
  slot.name = std::move(name);
  slot.spec = std::move(spec);
  slots_.push_back(std::move(slot));
  return slots_.back();
}

void child_table::erase(uint64_t key) {
  auto at = index_of(key);
  if (at < slots_.size()) slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(at));
}

std::string child_table::dynamic_id(std::string_view spec_id, uint64_t n) {
  return std::string(spec_id) + "#" + std::to_string(n);
}

bool child_table::is_dynamic_id(std::string_view id, std::string_view spec_id, uint64_t started) {
  if (id.size() <= spec_id.size() + 1 || !id.starts_with(spec_id) || id[spec_id.size()] != '#') return false;
  uint64_t n = 0;
  auto digits = id.substr(spec_id.size() + 1);
  auto [end, failure] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return failure == std::errc() && end == digits.data() + digits.size() && n >= 1 && n <= started &&
         id == dynamic_id(spec_id, n);
}

child_info child_table::info_of(const child_slot& c) {
  child_info info;
  info.id = c.spec.id;
  info.is_supervisor = c.spec.supervisor != nullptr;
  info.state = c.state;
  info.restart = c.spec.restart;
  info.restarts = c.restarts;
  if (c.handle) {
    info.ref = c.handle->ref();
    info.pid = c.handle->pid();
  }
  return info;
}

}  // namespace actorproc::detail
