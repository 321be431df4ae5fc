#include <actorproc/wire/shared_buffer.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace actorproc {
namespace {

// What a receiver requires before it maps a buffer: no write, no size change,
// from anyone, ever (F_SEAL_SEAL keeps it so).
constexpr int required_seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;

error os_error(const char* what) { return error(errc::system_error, std::string(what) + ": " + std::strerror(errno)); }

}  // namespace

shared_buffer::shared_buffer(shared_buffer&& other) noexcept
    : fd_(std::move(other.fd_)),
      map_(std::exchange(other.map_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      sealed_(std::exchange(other.sealed_, false)) {}

shared_buffer& shared_buffer::operator=(shared_buffer&& other) noexcept {
  if (this != &other) {
    unmap();
    fd_ = std::move(other.fd_);
    map_ = std::exchange(other.map_, nullptr);
    size_ = std::exchange(other.size_, 0);
    sealed_ = std::exchange(other.sealed_, false);
  }
  return *this;
}

shared_buffer::~shared_buffer() { unmap(); }

void shared_buffer::unmap() {
  if (map_ != nullptr) ::munmap(map_, size_);
  map_ = nullptr;
}

expected<shared_buffer> shared_buffer::create(std::size_t bytes) {
  unique_fd fd(::memfd_create("actorproc-buffer", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return os_error("memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) return os_error("ftruncate of a shared buffer");
  void* map = nullptr;
  if (bytes != 0) {
    // MAP_POPULATE allocates every page now: the writer then fills memory
    // that is already there instead of faulting once per page.
    map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
    if (map == MAP_FAILED) return os_error("mmap of a shared buffer");
  }
  return shared_buffer(std::move(fd), map, bytes, false);
}

expected<shared_buffer> shared_buffer::open(unique_fd fd) {
  if (!fd) return error(errc::invalid_argument, "no descriptor to open as a shared buffer");
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & required_seals) != required_seals) {
    return error(errc::invalid_argument,
                 "the descriptor is not a sealed shared buffer (a memfd sealed against writes and size changes)");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("fstat of a shared buffer");
  auto size = static_cast<std::size_t>(st.st_size);
  void* map = nullptr;
  if (size != 0) {
    map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
    if (map == MAP_FAILED) return os_error("mmap of a shared buffer");
  }
  return shared_buffer(std::move(fd), map, size, true);
}

std::span<std::byte> shared_buffer::bytes() {
  if (sealed_) throw std::logic_error("a sealed shared_buffer cannot be written");
  return {static_cast<std::byte*>(map_), size_};
}

expected<void> shared_buffer::seal(std::size_t used) {
  if (sealed_) return {};
  if (!fd_) return error(errc::invalid_argument, "sealing an empty shared_buffer");
  if (used > size_) {
    return error(errc::invalid_argument, "sealing " + std::to_string(used) + " bytes of a shared buffer of " +
                                             std::to_string(size_));
  }
  // F_SEAL_WRITE is refused while a writable shared mapping exists: ours goes first.
  unmap();
  if (used < size_ && ::ftruncate(fd_.get(), static_cast<off_t>(used)) != 0) return os_error("ftruncate");
  size_ = used;
  if (::fcntl(fd_.get(), F_ADD_SEALS, required_seals | F_SEAL_SEAL) != 0) return os_error("sealing a shared buffer");
  sealed_ = true;
  if (size_ != 0) {
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_.get(), 0);
    if (map == MAP_FAILED) return os_error("mmap of a sealed shared buffer");
    map_ = map;
  }
  return {};
}

expected<unique_fd> shared_buffer::share() const {
  if (!sealed_) return error(errc::invalid_argument, "only a sealed shared_buffer can be shared");
  unique_fd copy(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy) return os_error("dup of a shared buffer");
  return copy;
}

}  // namespace actorproc
