#include <actorproc/wire/buffer_pool.hpp>

#include <algorithm>

namespace actorproc {

expected<void> buffer_pool::reserve(std::size_t count, std::size_t bytes) {
  auto of_size = [&] {
    return static_cast<std::size_t>(
        std::count_if(ready_.begin(), ready_.end(), [&](const shared_buffer& b) { return b.size() == bytes; }));
  };
  for (std::size_t have = of_size(); have < count && ready_.size() < capacity_; ++have) {
    auto made = shared_buffer::create(bytes);
    if (!made) return made.error();
    ready_.push_back(std::move(*made));
  }
  return {};
}

expected<shared_buffer> buffer_pool::acquire(std::size_t bytes) {
  auto it = std::find_if(ready_.begin(), ready_.end(), [&](const shared_buffer& b) { return b.size() == bytes; });
  if (it == ready_.end()) return shared_buffer::create(bytes);
  shared_buffer taken = std::move(*it);
  ready_.erase(it);
  return taken;
}

}  // namespace actorproc
