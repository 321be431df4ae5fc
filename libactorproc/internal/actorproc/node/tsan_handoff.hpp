#pragma once
// ThreadSanitizer and CAF. Debian's libcaf_core is not built with TSan, so TSan
// cannot see that a message enqueued on one thread happens before its handler
// runs on another: the enqueue is a lock-free compare-and-swap inside CAF, and
// only when the receiver sleeps does a (intercepted) condition variable make the
// order visible. The data a message carries then looks raced, intermittently.
// So the host's actors mark each hand-off themselves: a thread releases on the
// receiving actor's control block before it sends; the handler acquires on it
// first thing and releases before it answers; a requester acquires after the
// answer. Without TSan these are empty inline functions.

namespace actorproc::detail {

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
inline void handoff_release(const void* sync) { __tsan_release(const_cast<void*>(sync)); }
inline void handoff_acquire(const void* sync) { __tsan_acquire(const_cast<void*>(sync)); }
#else
inline void handoff_release(const void*) {}
inline void handoff_acquire(const void*) {}
#endif

/// A handler's side: acquires now, releases when the handler returns (its
/// answer leaves after that).
class handoff_scope {
 public:
  explicit handoff_scope(const void* sync) : sync_(sync) { handoff_acquire(sync_); }
  ~handoff_scope() { handoff_release(sync_); }
  handoff_scope(const handoff_scope&) = delete;
  handoff_scope& operator=(const handoff_scope&) = delete;

 private:
  const void* sync_;
};

}  // namespace actorproc::detail
