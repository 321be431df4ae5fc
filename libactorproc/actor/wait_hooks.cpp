#include <actorproc/actor/wait_hooks.hpp>

#include <stdexcept>

namespace actorproc::detail {
namespace {
thread_local wait_hooks* this_thread_hooks = nullptr;
}

wait_hooks* wait_hooks::current() { return this_thread_hooks; }

wait_hooks::scope::scope(wait_hooks& hooks) : outer_(this_thread_hooks) { this_thread_hooks = &hooks; }
wait_hooks::scope::~scope() { this_thread_hooks = outer_; }

wait_hooks::~wait_hooks() {
  for (int i = 0; i < count_; ++i) hooks_[i]->hooks_gone();
}

void wait_hooks::add(wait_hook* hook) {
  for (int i = 0; i < count_; ++i) {
    if (hooks_[i] == hook) return;
  }
  if (count_ == capacity) {
    // More ends with output pending at once than any actor should hold: flush
    // the others first, which frees their slots.
    run(true, hook);
    if (count_ == capacity) throw std::length_error("more than 64 pipe ends with output pending in one actor");
  }
  hooks_[count_++] = hook;
}

void wait_hooks::remove(wait_hook* hook) {
  for (int i = 0; i < count_; ++i) {
    if (hooks_[i] == hook) {
      hooks_[i] = hooks_[--count_];
      hooks_[count_] = nullptr;
      return;
    }
  }
}

void wait_hooks::run(bool wait, const wait_hook* except) {
  if (running_ || count_ == 0) return;
  running_ = true;
  struct done_running {
    bool& flag;
    ~done_running() { flag = false; }
  } reset{running_};
  // A hook removes itself when done, which moves the last one into its slot:
  // walk a copy.
  wait_hook* snapshot[capacity];
  int n = count_;
  for (int i = 0; i < n; ++i) snapshot[i] = hooks_[i];
  for (int i = 0; i < n; ++i) {
    if (snapshot[i] == except) continue;
    // Still registered? An earlier hook's flush cannot unregister another end,
    // but a destroyed end has removed itself.
    bool live = false;
    for (int j = 0; j < count_ && !live; ++j) live = hooks_[j] == snapshot[i];
    if (live) snapshot[i]->flush_before_wait(wait);
  }
}

}  // namespace actorproc::detail
