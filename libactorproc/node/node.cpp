// The node: the zygote, the CAF actor system with one proxy actor per process,
// and the reactor. CAF's actor headers cost ~15 s of compile time per
// translation unit, so only the files that define or call host actors include
// them (here, the supervisor's actor and API, the name registry, the pool's
// dispatcher); public headers forward-declare.

#include <actorproc/node/caf_interop.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/node/stop_ladder.hpp>

#include <actorproc/process/fork_safety.hpp>
#include "descriptor_limit.hpp"
#include "link.hpp"
#include "reactor.hpp"

#include <actorproc/actor/worker.hpp>
#include <actorproc/process/pidfd.hpp>
#include <actorproc/process/zygote.hpp>

#include <caf/all.hpp>

#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace actorproc {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

using stop_atom = caf::atom_constant<caf::atom("ap_stop")>;
using escalate_atom = caf::atom_constant<caf::atom("ap_escal")>;
using exited_atom = caf::atom_constant<caf::atom("ap_exited")>;

// The proxy of one actor process. It owns the stop ladder (the stop message, then
// SIGTERM, then SIGKILL, all within the grace period: stop_ladder.hpp) and exits
// when the process exits, with the process's exit reason, so CAF monitors see
// the process die.
caf::behavior process_proxy(caf::event_based_actor* self, std::shared_ptr<detail::link> l) {
  return {
      [=](stop_atom, int64_t grace_ms) {
        auto ladder = ladder_for(std::chrono::milliseconds(grace_ms));
        // SIGKILL is due at a fixed time from the stop, however late SIGTERM was sent.
        int64_t kill_at =
            std::chrono::duration_cast<std::chrono::nanoseconds>((clock::now() + ladder.sigkill_at).time_since_epoch())
                .count();
        self->delayed_send(self, ladder.sigterm_at, escalate_atom::value, int32_t{SIGTERM}, kill_at);
      },
      [=](escalate_atom, int32_t signo, int64_t kill_at) {
        if (l->signal(signo) && signo == SIGTERM) {
          auto left = clock::time_point(std::chrono::nanoseconds(kill_at)) - clock::now();
          self->delayed_send(self, std::max(std::chrono::ceil<std::chrono::milliseconds>(left), 0ms),
                             escalate_atom::value, int32_t{SIGKILL}, kill_at);
        }
      },
      [=](exited_atom) { self->quit(to_caf_error(l->exit_reason_now().value_or(exit_reason::normal()))); },
  };
}

void log_to_stderr(const std::string& line) { std::fprintf(stderr, "actorproc: %s\n", line.c_str()); }

}  // namespace

caf::error to_caf_error(const exit_reason& reason) {
  if (reason.what == exit_reason::kind::normal) return caf::none;
  return caf::error(static_cast<uint8_t>(reason.what), caf_error_category,
                    caf::make_message(int32_t{reason.code}, int32_t{reason.signal}, reason.core_dumped, reason.detail));
}

exit_reason from_caf_error(const caf::error& err) {
  if (!err) return exit_reason::normal();
  if (err.category() != caf_error_category)
    return exit_reason::because(exit_reason::kind::exception, caf::to_string(err));
  exit_reason reason;
  reason.what = static_cast<exit_reason::kind>(err.code());
  caf::message context = err.context();
  context.apply({[&](int32_t code, int32_t signo, bool core, const std::string& detail) {
    reason.code = code;
    reason.signal = signo;
    reason.core_dumped = core;
    reason.detail = detail;
  }});
  return reason;
}

struct node::impl final : detail::link_owner {
  impl(const entry_table& table, node_options opts)
      : actors(table), options(with_defaults(std::move(opts))), zygote(start_zygote(actors, options)) {
    config.set("scheduler.max-threads", std::max<std::size_t>(1, options.scheduler_threads));
    // CAF's work-stealing workers, once out of work, spin briefly, then poll
    // 500 times with a 50 us sleep between polls (25 ms) before they wait on a
    // condition variable. Every host call that touches CAF (a supervisor
    // request, an exit, a pool submission) restarts that: on a 2-core machine
    // the polls woke 20,000 times a second and took the cores from the workers
    // (queue_bench --quick, JoinableQueue rows: 9,000 context switches and
    // 500 ms of CPU; without the poll phase 2,400 and 250 ms, at about twice
    // the items/s).
    // The workers still spin before they sleep, and an enqueue wakes a
    // sleeping one at once.
    config.set("work-stealing.moderate-poll-attempts", std::size_t{0});
    system = std::make_unique<caf::actor_system>(config);
    reactor = std::make_unique<detail::reactor>(
        options.limits, detail::reactor::hooks{[this](detail::link& l) { on_exited(l); }, options.log});
  }

  static node_options with_defaults(node_options options) {
    if (!options.log) options.log = log_to_stderr;
    return options;
  }

  // The checks before the fork, then the fork: nothing of the node exists yet.
  static process::zygote start_zygote(const entry_table& actors, const node_options& options) {
    // An exec'd worker whose main() forgot run_if_worker() ends here, and its
    // node's spawn fails with the reason, instead of starting a node of its own.
    detail::refuse_if_started_as_worker("constructed an actorproc::node");
    if (auto hazard = process::detail::fork_hazard(process::detail::thread_count())) {
      if (!options.allow_other_threads) {
        throw std::logic_error("actorproc: the node refuses to start: " + *hazard +
                               ". Construct the node in main() before any thread starts, or set "
                               "node_options::allow_other_threads if those threads can hold no lock a worker needs");
      }
      options.log("warning: " + *hazard + " (allowed by node_options::allow_other_threads)");
    }
    // Before the fork, so the zygote and its workers start with it too.
    if (auto raised = detail::raise_descriptor_limit()) options.log(*raised);
    const wire::limits& limits = options.limits;
    auto z = process::zygote::start(
        [actors, limits](const process::launch_request& request, unique_fd mailbox, std::vector<unique_fd> extra) {
          return detail::run_worker(actors, request, std::move(mailbox), std::move(extra), limits);
        });
    if (!z) throw std::runtime_error("actorproc: cannot start the zygote: " + to_string(z.error()));
    return std::move(*z);
  }

  ~impl() override {
    for (auto it = shutdown_hooks.rbegin(); it != shutdown_hooks.rend(); ++it) (*it)();
    stopping = true;
    for (auto& l : reactor->all()) stop(*l, exit_reason::shutdown(), options.shutdown_grace);
    auto deadline = clock::now() + ladder_for(options.shutdown_grace).sigkill_at + 1s;
    if (!reactor->wait_until_empty(deadline)) {
      for (auto& l : reactor->all()) l->signal(SIGKILL);
      reactor->wait_until_empty(clock::now() + 10s);
    }
    reactor.reset();
    {
      std::lock_guard lock(proxies_mutex);
      for (auto& [id, proxy] : proxies) caf::anon_send_exit(proxy, caf::exit_reason::kill);
      proxies.clear();
    }
    system.reset();
  }

  void watch_changed(detail::link& l) override { reactor->update_events_locked(l); }
  void hand_back(detail::link& l) override { reactor->hand_back(l); }
  void flush_soon(detail::link& l) override { reactor->flush_soon(l); }

  void stop(detail::link& l, exit_reason reason, std::chrono::milliseconds grace) override {
    caf::actor proxy = proxy_for(l.id);
    {
      std::lock_guard lock(l.mutex);
      if (l.state == detail::link_state::exited) return;
      if (!l.stop_reason) l.stop_reason = reason;
    }
    wire::envelope_builder out;
    out.address(l.id, 0, 0);
    wire::write_exit_reason(out.envelope().initSystem().initStop(), reason);
    (void)l.enqueue(out.message(), {}, detail::delivery::ahead);
    if (proxy) caf::anon_send(proxy, stop_atom::value, static_cast<int64_t>(grace.count()));
  }

  void monitor(detail::link& l, std::function<void(actor_ref, const exit_reason&)> on_down) override {
    actor_ref ref{l.id};
    caf::actor proxy = proxy_for(l.id);
    if (!proxy) {  // exited: its proxy is gone, and its exit reason is final
      on_down(ref, l.exit_reason_now().value_or(exit_reason::normal()));
      return;
    }
    // Runs once the proxy has exited with the process's reason, or at once if it
    // already has (CAF calls an attachable added to a terminated actor at once).
    proxy->attach_functor([ref, on_down = std::move(on_down)](const caf::error& reason) {
      on_down(ref, from_caf_error(reason));
    });
  }

  expected<exit_reason> join(detail::link& l, std::chrono::milliseconds timeout) override {
    caf::actor proxy = proxy_for(l.id);
    if (proxy) {
      caf::scoped_actor self{*system};
      self->monitor(proxy);
      bool down = false;
      self->receive([&](caf::down_msg&) { down = true; },
                    caf::after(std::max(timeout, std::chrono::milliseconds(0))) >> [] {});
      if (!down) {
        return error(errc::timeout,
                     "actor '" + l.name + "' still running after " + std::to_string(timeout.count()) + " ms");
      }
    }
    // The proxy exits after the reactor made the reason final.
    if (auto reason = l.exit_reason_now()) return *reason;
    return error(errc::node_stopped, "actor '" + l.name + "': the node stopped before it exited");
  }

  caf::actor proxy_for(uint64_t id) {
    std::lock_guard lock(proxies_mutex);
    auto it = proxies.find(id);
    return it == proxies.end() ? caf::actor() : it->second;
  }

  void on_exited(detail::link& l) {
    caf::actor proxy;
    {
      std::lock_guard lock(proxies_mutex);
      auto it = proxies.find(l.id);
      if (it == proxies.end()) return;
      proxy = std::move(it->second);
      proxies.erase(it);
    }
    caf::anon_send(proxy, exited_atom::value);
  }

  expected<actor_handle> spawn(std::string_view type, spawn_options opts) {
    if (stopping) return error(errc::node_stopped, "the node is shutting down");
    if (opts.method == start_method::zygote || opts.program.empty()) {
      if (actors.find(type) == nullptr) {
        return error(errc::invalid_argument, "no actor type '" + std::string(type) + "' is registered");
      }
    }
    uint64_t id = next_id++;
    std::string name = opts.name.empty() ? std::string(type) + "#" + std::to_string(id) : std::move(opts.name);

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return detail::socketpair_failed("spawn '" + name + "'", reactor->size());
    }
    unique_fd node_end(sv[0]), child_end(sv[1]);
    process::launch_request request{std::string(type),    name,        id,
                                    std::move(opts.args), opts.method, std::move(opts.program)};
    auto launched = zygote.launch(request, std::move(child_end), std::move(opts.fds));
    if (!launched) return launched.error();

    auto l = std::make_shared<detail::link>(id, name, launched->pid, std::move(node_end), std::move(launched->pidfd),
                                            *this, options.mailbox_bytes, options.limits);
    l->heartbeat = opts.heartbeat;
    {
      std::lock_guard lock(proxies_mutex);
      proxies[id] = system->spawn(process_proxy, l);
    }
    reactor->add(l);

    // A child counts as started once it reports ready (it has built its actor).
    std::unique_lock lock(l->mutex);
    bool settled =
        l->changed.wait_for(lock, options.start_timeout, [&] { return l->state != detail::link_state::starting; });
    // Ready, then gone before this thread woke up (a port whose command exits at
    // once): started all the same; its exit reason is for join(), not a launch failure.
    if (settled && l->was_ready) return actor_handle(l);
    if (!settled) {
      l->imposed = exit_reason::because(exit_reason::kind::launch_failed,
                                        "not ready within " + std::to_string(options.start_timeout.count()) + " ms");
      if (l->pidfd) process::signal_process(l->pidfd.get(), SIGKILL);
      return error(errc::launch_failed, "actor '" + name + "' " + l->imposed->detail, l->imposed);
    }
    return error(errc::launch_failed, "actor '" + name + "' exited during start: " + to_string(*l->final_reason),
                 l->final_reason);
  }

  expected<void> connect(const actor_handle& a, const actor_handle& b) {
    auto la = reactor->find(a.id()), lb = reactor->find(b.id());
    if (!la || !lb) return error(errc::unknown_actor, "both actors must be alive to be connected");
    return detail::connect_links(*la, *lb, reactor->size());
  }

  entry_table actors;
  node_options options;
  process::zygote zygote;
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<detail::reactor> reactor;
  std::mutex proxies_mutex;
  std::unordered_map<uint64_t, caf::actor> proxies;
  std::atomic<uint64_t> next_id{1};
  std::atomic<bool> stopping{false};
  std::vector<std::function<void()>> shutdown_hooks;
};

node::node(const entry_table& actors, node_options options)
    : impl_(std::make_unique<impl>(actors, std::move(options))) {}
node::~node() = default;

expected<actor_handle> node::spawn(std::string_view type, spawn_options options) {
  return impl_->spawn(type, std::move(options));
}

std::optional<actor_handle> node::find(actor_ref ref) const {
  auto l = impl_->reactor->find(ref.id);
  if (!l) return std::nullopt;
  return actor_handle(std::move(l));
}

expected<void> node::connect(const actor_handle& a, const actor_handle& b) { return impl_->connect(a, b); }
std::size_t node::size() const { return impl_->reactor->size(); }
caf::actor_system& node::system() { return *impl_->system; }
pid_t node::zygote_pid() const { return impl_->zygote.pid(); }
void node::add_shutdown_hook(std::function<void()> hook) { impl_->shutdown_hooks.push_back(std::move(hook)); }

caf::actor proxy_of(node& n, const actor_handle& handle) { return n.impl_->proxy_for(handle.id()); }

}  // namespace actorproc
