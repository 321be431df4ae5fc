#pragma once
// How errors name a Cap'n Proto schema type: its 64-bit id in fixed-width hex,
// the form `capnp compile` and the schema files use (@0x...).

#include <cstdint>
#include <cstdio>
#include <string>

namespace actorproc {

inline std::string type_id_text(uint64_t id) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(id));
  return text;
}

}  // namespace actorproc
