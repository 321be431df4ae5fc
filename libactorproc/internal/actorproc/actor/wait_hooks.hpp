#pragma once
// wait_hooks: output of an actor's own objects that must leave before the
// actor waits. Internal: the worker runtime runs the hooks, pipe ends
// (patterns/pipe.hpp) register them.
//
// A worker batches an actor's sends and writes them when the actor next waits
// (its handler returns, or it makes a request; actor/context.hpp). A pipe end
// batches its sends the same way, but it is the actor's own object, which the
// worker's loop does not know. So an end with output pending registers a hook
// here, and the loop runs every hook before it waits: for input, or for the
// answer to a request. A wait inside a pipe end runs the other ends' hooks too.
//
// The loop runs them twice: first without waiting (what the sockets take
// now), then, after its own channels are flushed, waiting for the rest. So
// what an actor wrote on a pipe before it replied is usually ahead of the
// reply, and a pipe end that waits for a peer never keeps back the reply (or
// the request) that peer waits for.
//
// A thread that runs no worker loop (the node's threads) has no hooks:
// current() is null there, and a pipe end writes each message at once.

namespace actorproc::detail {

class wait_hook {
 public:
  /// Writes what is pending: what the socket takes now, or (`wait`) all of
  /// it, waiting for the socket within the owner's bound.
  virtual void flush_before_wait(bool wait) = 0;
  /// The hooks it is registered with are destroyed (the worker loop ended).
  virtual void hooks_gone() = 0;

 protected:
  ~wait_hook() = default;
};

class wait_hooks {
 public:
  /// The hooks of this thread's worker loop; null on a thread without one.
  static wait_hooks* current();

  wait_hooks() = default;
  wait_hooks(const wait_hooks&) = delete;
  wait_hooks& operator=(const wait_hooks&) = delete;
  /// Tells every hook still registered that it no longer is.
  ~wait_hooks();

  /// Installs `hooks` as this thread's for the scope's life.
  class scope {
   public:
    explicit scope(wait_hooks& hooks);
    ~scope();
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

   private:
    wait_hooks* outer_;
  };

  /// Registers `hook` (no effect if it is registered already).
  void add(wait_hook* hook);
  /// Forgets `hook` (no effect if it is not registered).
  void remove(wait_hook* hook);
  /// Runs every hook but `except` (each one forgets itself once it has nothing
  /// pending), waiting or not. Not reentrant: a hook that waits does not run
  /// the others again.
  void run(bool wait, const wait_hook* except = nullptr);
  bool empty() const { return count_ == 0; }
  /// Before the actor waits: what the hooks' sockets take now, then
  /// `flush_channels()` (the actor's own sends: a peer a pipe end waits on may
  /// itself wait for them), then the rest, waiting up to each end's linger.
  template <class Flush>
  void run_before_wait(Flush&& flush_channels) {
    if (empty()) return;
    run(false);
    flush_channels();
    run(true);
  }

 private:
  // A handful of pipe ends at most: a small array, no allocation per wait.
  static constexpr int capacity = 64;
  wait_hook* hooks_[capacity] = {};
  int count_ = 0;
  bool running_ = false;
};

}  // namespace actorproc::detail
