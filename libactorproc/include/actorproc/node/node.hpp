#pragma once
// node: the host process of a libactorproc program.
//
//   int main(int argc, char** argv) {
//     actorproc::entry_table actors;
//     actors.add<counter>("counter");
//     if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;
//     actorproc::node node{actors};
//     auto c = node.spawn("counter").value();
//     c.send<Add>([](Add::Builder b) { b.setBy(2); });
//     auto n = c.request<Get, Count>();          // expected<message<Count>>
//   }
//
// What the node runs:
// - the zygote, forked in the constructor before any thread exists, which forks
//   every worker (see process/launch.hpp for the start methods);
// - a caf::actor_system: each actor process is represented by a CAF proxy actor
//   that owns its stop ladder and exits with the process, so CAF actors in the
//   node (supervisors, the pool's dispatcher, a program's own) monitor processes
//   like any CAF actor (see node/caf_interop.hpp). Pattern actors (queue,
//   lock...) are not CAF actors: each is a worker process like any other;
// - one reactor thread: epoll over every mailbox socket and every pidfd. It
//   routes frames between actors, completes requests, and reaps children. There
//   is no thread per child. It reports each exit once, as a CAF message to the
//   process's proxy; actor_handle::monitor and join are built on that proxy.
//
// Process hygiene: children are watched through pidfds (a reused PID is never
// signalled), reaped as soon as they exit (no zombies), inherit no descriptor but
// their mailbox (and the ones given in spawn_options::fds), and die with the node
// even when it is SIGKILLed (PR_SET_PDEATHSIG plus a parent check).
//
// Descriptors: each actor holds two in the node (its mailbox socket and its
// pidfd). The constructor raises the soft RLIMIT_NOFILE to the hard limit and
// logs it; a spawn that finds none left fails with system_error naming the
// limit and the number of actors alive.
//
// Destroying the node stops every actor (stop message, then SIGTERM, then
// SIGKILL, all within node_options::shutdown_grace) and waits until all are reaped.
//
// Construct the node on the main thread, before the program starts threads of
// its own: it forks the zygote in its constructor, and it refuses (throws
// std::logic_error) when the process has other threads, unless
// node_options::allow_other_threads says they are harmless (see there).
// In a process started as a worker by the exec start method (a main() that
// forgot run_if_worker()), the constructor fails that spawn with launch_failed
// and exits the process instead of starting a node.
// WARNING: do not reap children with waitpid(-1) elsewhere.

#include <actorproc/actor/entry_table.hpp>
#include <actorproc/node/actor_handle.hpp>
#include <actorproc/node/spawn_options.hpp>

#include <functional>
#include <memory>
#include <string_view>

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace actorproc {

class node {
 public:
  explicit node(const entry_table& actors, node_options options = {});
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts an actor of a registered type and waits until it is ready.
  /// Fails with invalid_argument (unknown type), launch_failed (with the reason:
  /// exec failed, constructor threw, died or hung during start) or node_stopped.
  expected<actor_handle> spawn(std::string_view type, spawn_options options = {});

  /// The actor with this id, if it is alive.
  std::optional<actor_handle> find(actor_ref ref) const;

  /// Gives two actors a direct socketpair: from then on their messages to each
  /// other (sends, requests and replies) bypass the node. Messages already on
  /// their way through the node may arrive after later direct ones.
  expected<void> connect(const actor_handle& a, const actor_handle& b);

  /// Number of actor processes alive.
  std::size_t size() const;

  /// The node's CAF actor system, for host-side CAF actors.
  caf::actor_system& system();

  pid_t zygote_pid() const;

  /// Runs `hook` first thing in ~node (hooks run in reverse order of
  /// registration), while every actor is still alive. Supervisors use it to stop
  /// their trees in order before the node stops what is left.
  void add_shutdown_hook(std::function<void()> hook);

  struct impl;

 private:
  friend caf::actor proxy_of(node& n, const actor_handle& handle);
  std::unique_ptr<impl> impl_;
};

}  // namespace actorproc
