// Supervisors: one detached CAF actor per supervisor, owning its children.
//
// Everything that changes the tree runs on the supervisor's own thread: exits
// (CAF down messages from the children's proxies or nested supervisors), timed
// restarts (delayed messages to itself), and calls from the host API, which are
// posted to it as jobs and waited for. So the tree has one writer and needs no
// lock; only the restart log and the exit reason are shared.

#include <actorproc/supervise/supervisor.hpp>

#include "name_entry.hpp"
#include "restart_rules.hpp"

#include <actorproc/node/caf_interop.hpp>
#include <actorproc/node/stop_ladder.hpp>

#include <caf/all.hpp>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <unordered_map>

namespace actorproc {
namespace detail {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

using job_atom = caf::atom_constant<caf::atom("sup_job")>;
using restart_atom = caf::atom_constant<caf::atom("sup_rst")>;
using dead_atom = caf::atom_constant<caf::atom("sup_dead")>;

// How long a host call waits for the supervisor's thread. Only a broken tree
// reaches it: every step a supervisor takes is itself bounded.
constexpr auto job_patience = 10min;
// Restart log entries kept per supervisor.
constexpr std::size_t log_limit = 1000;

std::size_t rss_of(pid_t pid) {
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

struct child_slot {
  child_spec spec;
  uint64_t key = 0;
  child_state state = child_state::stopped;
  std::optional<actor_handle> handle;       // a running worker
  std::shared_ptr<supervisor_core> nested;  // a running supervisor
  caf::actor_addr watched;                  // whose down message means this child exited
  uint64_t incarnation = 0;
  uint64_t restarts = 0;
  clock::time_point started_at;
  std::chrono::milliseconds backoff{0};
  std::shared_ptr<name_entry> name;
  std::optional<exit_reason> died_early;  // exited before it could be monitored
};

struct supervisor_core : std::enable_shared_from_this<supervisor_core> {
  supervisor_core(node& n, supervisor_spec s, std::string p)
      : owner(n), spec(std::move(s)), path(std::move(p)), random(std::random_device{}()) {}

  node& owner;
  const supervisor_spec spec;
  const std::string path;

  // The strong reference that keeps the supervisor's CAF actor alive while it
  // runs (CAF collects unreferenced actors); dropped when it exits, or the
  // actor system would wait forever for its thread.
  caf::actor actor() {
    std::lock_guard lock(jobs_mutex);
    return actor_;
  }
  caf::actor actor_;  // under jobs_mutex

  // ---- shared with host threads
  struct job {
    std::function<void()> run;
    std::function<void()> abandon;  // the supervisor exited before running it
  };
  std::mutex jobs_mutex;
  std::unordered_map<uint64_t, job> jobs;
  uint64_t next_job = 1;
  bool closed = false;

  std::mutex exit_mutex;
  std::condition_variable exit_changed;
  std::optional<exit_reason> exit;

  mutable std::mutex log_mutex;
  std::deque<restart_event> log;

  // ---- the supervisor's thread only
  caf::event_based_actor* self = nullptr;
  std::vector<child_slot> children;
  uint64_t next_key = 1;
  uint64_t dynamic_children = 0;
  std::deque<clock::time_point> window;
  std::unordered_map<uint64_t, std::vector<uint64_t>> scheduled;  // restart batches waiting for their delay
  uint64_t next_batch = 1;
  std::mt19937_64 random;
  bool quitting = false;

  // Runs `f` on the supervisor's thread and returns its result.
  template <class R, class F>
  expected<R> on_thread(F&& f) {
    auto done = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
    auto result = std::make_shared<std::optional<expected<R>>>();
    auto finish = [done, result](expected<R> value) {
      std::lock_guard lock(done->first);
      if (!*result) result->emplace(std::move(value));
      done->second.notify_all();
    };
    uint64_t id;
    caf::actor target;
    {
      std::lock_guard lock(jobs_mutex);
      if (closed) return error(errc::actor_down, "supervisor '" + path + "' has exited");
      id = next_job++;
      jobs[id] = job{[f = std::forward<F>(f), finish]() mutable { finish(f()); },
                     [finish, this] { finish(error(errc::actor_down, "supervisor '" + path + "' has exited")); }};
      target = actor_;
    }
    caf::anon_send(target, job_atom::value, id);
    std::unique_lock lock(done->first);
    if (!done->second.wait_for(lock, job_patience, [&] { return result->has_value(); })) {
      return error(errc::timeout, "supervisor '" + path + "' did not answer");
    }
    return std::move(**result);
  }

  void run_job(uint64_t id) {
    job j;
    {
      std::lock_guard lock(jobs_mutex);
      auto it = jobs.find(id);
      if (it == jobs.end()) return;
      j = std::move(it->second);
      jobs.erase(it);
    }
    j.run();
  }

  void exited(const exit_reason& reason) {
    std::unordered_map<uint64_t, job> abandoned;
    caf::actor last_reference;
    {
      std::lock_guard lock(jobs_mutex);
      closed = true;
      abandoned.swap(jobs);
      last_reference.swap(actor_);  // released below, outside the lock
    }
    for (auto& [id, j] : abandoned) j.abandon();
    std::lock_guard lock(exit_mutex);
    exit = reason;
    exit_changed.notify_all();
  }

  bool wait_exit(std::chrono::milliseconds timeout) {
    std::unique_lock lock(exit_mutex);
    return exit_changed.wait_for(lock, timeout, [&] { return exit.has_value(); });
  }

  // ------------------------------------------------------------------ children

  child_slot* find(std::string_view id) {
    for (auto& c : children) {
      if (c.spec.id == id) return &c;
    }
    return nullptr;
  }
  child_slot* find_key(uint64_t key) {
    for (auto& c : children) {
      if (c.key == key) return &c;
    }
    return nullptr;
  }
  std::size_t index_of(uint64_t key) const {
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (children[i].key == key) return i;
    }
    return children.size();
  }

  // simple_one_for_one: the n-th child started from the spec is "<spec id>#n".
  std::string dynamic_child_id(uint64_t n) const { return spec.children.front().id + "#" + std::to_string(n); }
  bool was_dynamic_child(std::string_view id) const {
    if (spec.strategy != restart_strategy::simple_one_for_one) return false;
    std::string_view prefix = spec.children.front().id;
    if (id.size() <= prefix.size() + 1 || !id.starts_with(prefix) || id[prefix.size()] != '#') return false;
    uint64_t n = 0;
    auto digits = id.substr(prefix.size() + 1);
    auto [end, failure] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    return failure == std::errc() && end == digits.data() + digits.size() && n >= 1 && n <= dynamic_children &&
           id == dynamic_child_id(n);
  }

  child_slot& add_slot(child_spec s) {
    child_slot slot;
    slot.key = next_key++;
    slot.name = std::make_shared<name_entry>(s.id, s.while_restarting, s.restart_buffer, s.restart);
    slot.spec = std::move(s);
    children.push_back(std::move(slot));
    return children.back();
  }

  // A child added at run time: kept only if it starts.
  expected<child_info> add_and_start(child_spec s) {
    uint64_t key = add_slot(std::move(s)).key;
    if (auto started = start_slot(*find_key(key)); !started) {
      children.erase(children.begin() + static_cast<std::ptrdiff_t>(index_of(key)));
      return started.error();
    }
    return info_of(*find_key(key));
  }

  static shutdown_policy shutdown_of(const child_spec& s) {
    if (s.shutdown) return *s.shutdown;
    return s.supervisor ? shutdown_policy::infinity() : shutdown_policy::after(5000ms);
  }

  expected<void> start_slot(child_slot& slot);

  // Stops a running child deliberately: its exit will not count as a failure.
  void begin_stop(child_slot& slot) {
    if (slot.state != child_state::running) return;
    slot.state = child_state::stopping;
    if (slot.watched) self->demonitor(slot.watched);
    slot.watched = caf::actor_addr();
    auto policy = shutdown_of(slot.spec);
    if (slot.handle) {
      switch (policy.how) {
        case shutdown_policy::kind::brutal_kill:
          slot.handle->kill();
          break;
        case shutdown_policy::kind::graceful:
          slot.handle->stop(exit_reason::shutdown(), policy.grace);
          break;
        case shutdown_policy::kind::infinity:
          slot.handle->stop(exit_reason::shutdown(), 24h);
          break;
      }
    } else if (slot.nested) {
      auto nested = slot.nested;
      if (auto target = nested->actor()) caf::anon_send(target, job_atom::value, nested->post_shutdown());
    }
  }

  void finish_stop(child_slot& slot) {
    if (slot.state != child_state::stopping) return;
    auto policy = shutdown_of(slot.spec);
    if (slot.handle) {
      // The ladder ends with SIGKILL within the grace period: this wait is bounded.
      auto bound = policy.how == shutdown_policy::kind::infinity ? std::chrono::milliseconds(24h)
                                                                 : ladder_for(policy.grace).sigkill_at + 10s;
      (void)slot.handle->join(bound);
    } else if (slot.nested) {
      slot.nested->wait_exit(std::chrono::milliseconds(24h));
    }
    slot.handle.reset();
    slot.nested.reset();
    slot.state = child_state::stopped;
  }

  void stop_slot(child_slot& slot) {
    begin_stop(slot);
    finish_stop(slot);
  }

  // Stops children [from, end) in reverse start order; simple_one_for_one in parallel.
  void stop_range(std::size_t from) {
    if (spec.strategy == restart_strategy::simple_one_for_one) {
      for (std::size_t i = children.size(); i-- > from;) begin_stop(children[i]);
    }
    for (std::size_t i = children.size(); i-- > from;) stop_slot(children[i]);
  }

  uint64_t post_shutdown() {
    std::lock_guard lock(jobs_mutex);
    uint64_t id = next_job++;
    jobs[id] = job{[this] { shut_down(exit_reason::shutdown()); }, [] {}};
    return id;
  }

  void shut_down(exit_reason reason) {
    if (quitting) return;
    quitting = true;
    for (auto& c : children) c.name->down(false);
    stop_range(0);
    self->quit(to_caf_error(reason));
  }

  // ------------------------------------------------------------------ failures

  void record(const child_slot& slot, const exit_reason& reason, restart_event::action what,
              std::chrono::milliseconds delay = {}) {
    std::lock_guard lock(log_mutex);
    log.push_back({std::chrono::system_clock::now(), path, slot.spec.id, slot.incarnation, reason, what, delay});
    if (log.size() > log_limit) log.pop_front();
  }

  // One more restart in the window; false when intensity is exceeded.
  bool count_restart() {
    auto now = clock::now();
    window.push_back(now);
    while (!window.empty() && now - window.front() > spec.period) window.pop_front();
    return static_cast<int>(window.size()) <= spec.intensity;
  }

  std::chrono::milliseconds next_delay(child_slot& slot) {
    const auto& b = spec.backoff;
    if (b.min.count() == 0 && b.max.count() == 0) return 0ms;
    if (clock::now() - slot.started_at >= b.reset_after || slot.backoff.count() == 0) {
      slot.backoff = b.min;
    } else {
      slot.backoff = std::min(std::max(b.min, 2 * slot.backoff), std::max(b.min, b.max));
    }
    std::uniform_real_distribution<double> spread(1.0 - b.jitter, 1.0 + b.jitter);
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(slot.backoff.count()) * spread(random)));
  }

  void give_up(const child_slot& slot, const exit_reason& reason) {
    record(slot, reason, restart_event::action::gave_up);
    shut_down(exit_reason::because(exit_reason::kind::shutdown, "restart intensity exceeded: more than " +
                                                                    std::to_string(spec.intensity) + " restarts in " +
                                                                    std::to_string(spec.period.count()) + " ms"));
  }

  void check_auto_shutdown() {
    if (spec.shutdown_when == auto_shutdown::never) return;
    bool any_running = false;
    for (auto& c : children) any_running |= c.spec.significant && c.state != child_state::stopped;
    if (spec.shutdown_when == auto_shutdown::any_significant || !any_running) shut_down(exit_reason::shutdown());
  }

  void on_down(const caf::actor_addr& source, const exit_reason& reason) {
    for (auto& c : children) {
      if (c.watched && c.watched == source) {
        c.watched = caf::actor_addr();
        child_exited(c.key, reason);
        return;
      }
    }
  }

  void child_exited(uint64_t key, const exit_reason& reason) {
    child_slot* slot = find_key(key);
    if (slot == nullptr || quitting) return;
    slot->state = child_state::stopped;
    slot->handle.reset();
    slot->nested.reset();

    if (!wants_restart(slot->spec.restart, reason)) {
      record(*slot, reason, restart_event::action::not_restarted);
      slot->name->down(false);
      bool significant = slot->spec.significant;
      if (slot->spec.restart == restart_type::temporary) children.erase(children.begin() + index_of(key));
      if (significant) check_auto_shutdown();
      return;
    }
    if (!count_restart()) {
      give_up(*slot, reason);
      return;
    }
    auto delay = next_delay(*slot);
    record(*slot, reason, restart_event::action::restarted, delay);

    // Which children restart, by strategy; the others affected are stopped first.
    std::size_t at = index_of(key);
    std::size_t from = at;
    if (spec.strategy == restart_strategy::one_for_all) from = 0;
    std::vector<uint64_t> batch;
    if (spec.strategy == restart_strategy::one_for_all || spec.strategy == restart_strategy::rest_for_one) {
      // Their named handles follow the policy before the stop begins: nothing
      // sent through them may reach an incarnation that is about to be stopped.
      for (std::size_t i = from; i < children.size(); ++i) {
        if (children[i].key != key) children[i].name->down(children[i].spec.restart != restart_type::temporary);
      }
      stop_range(from);
      // A temporary child stopped by a sibling's failure is not restarted; its spec is dropped.
      for (std::size_t i = children.size(); i-- > from;) {
        if (children[i].spec.restart == restart_type::temporary && children[i].key != key) {
          children[i].name->down(false);
          children.erase(children.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      for (std::size_t i = index_of(key) < from ? index_of(key) : from; i < children.size(); ++i) {
        if (spec.strategy == restart_strategy::rest_for_one && i < index_of(key)) continue;
        batch.push_back(children[i].key);
      }
    } else {
      batch.push_back(key);
    }
    for (uint64_t k : batch) {
      if (auto* c = find_key(k)) {
        c->state = child_state::restarting;
        c->name->down(true);
      }
    }
    schedule(std::move(batch), delay);
  }

  void schedule(std::vector<uint64_t> batch, std::chrono::milliseconds delay) {
    uint64_t id = next_batch++;
    scheduled[id] = std::move(batch);
    if (delay.count() == 0) {
      self->send(self, restart_atom::value, id);
    } else {
      self->delayed_send(self, delay, restart_atom::value, id);
    }
  }

  void run_batch(uint64_t id) {
    auto it = scheduled.find(id);
    if (it == scheduled.end() || quitting) return;
    std::vector<uint64_t> batch = std::move(it->second);
    scheduled.erase(it);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      child_slot* slot = find_key(batch[i]);
      if (slot == nullptr || slot->state != child_state::restarting) continue;
      auto started = start_slot(*slot);
      if (started) {
        ++slot->restarts;
        continue;
      }
      // A failed restart is retried, and every attempt counts toward intensity.
      exit_reason why = started.error().reason.value_or(
          exit_reason::because(exit_reason::kind::launch_failed, started.error().message));
      if (started.error().code == errc::node_stopped || !count_restart()) {
        record(*slot, why, restart_event::action::start_failed);
        give_up(*slot, why);
        return;
      }
      slot->state = child_state::restarting;  // still due: the retry below must find it so
      auto delay = next_delay(*slot);
      record(*slot, why, restart_event::action::start_failed, delay);
      std::vector<uint64_t> rest(batch.begin() + static_cast<std::ptrdiff_t>(i), batch.end());
      schedule(std::move(rest), delay);
      return;
    }
  }

  // ------------------------------------------------------------------ host calls

  child_info info_of(const child_slot& c) const {
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

  void snapshot_into(std::vector<actor_snapshot>& rows) {
    for (auto& c : children) {
      actor_snapshot row;
      row.path = path + "/" + c.spec.id;
      row.is_supervisor = c.spec.supervisor != nullptr;
      row.state = c.state;
      row.restarts = c.restarts;
      if (c.handle) {
        row.pid = c.handle->pid();
        auto stats = c.handle->stats();
        row.messages_in = stats.messages_in;
        row.messages_out = stats.messages_out;
        row.mailbox_bytes = stats.mailbox_bytes;
        row.rss_bytes = rss_of(row.pid);
      }
      rows.push_back(row);
      if (c.nested) {
        auto below = c.nested->on_thread<std::vector<actor_snapshot>>([n = c.nested] {
          std::vector<actor_snapshot> inner;
          n->snapshot_into(inner);
          return inner;
        });
        if (below) rows.insert(rows.end(), below->begin(), below->end());
      }
    }
  }

  static expected<std::shared_ptr<supervisor_core>> launch(node& n, supervisor_spec spec, std::string path);
};

caf::behavior supervisor_actor(caf::event_based_actor* self, std::shared_ptr<supervisor_core> core) {
  core->self = self;
  self->set_down_handler([core](caf::down_msg& down) { core->on_down(down.source, from_caf_error(down.reason)); });
  self->attach_functor([core](const caf::error& reason) { core->exited(from_caf_error(reason)); });
  return {
      [core](job_atom, uint64_t id) { core->run_job(id); },
      [core](restart_atom, uint64_t batch) { core->run_batch(batch); },
      [core](dead_atom, uint64_t key) {
        if (auto* slot = core->find_key(key); slot && slot->died_early) core->child_exited(key, *slot->died_early);
      },
  };
}

expected<void> supervisor_core::start_slot(child_slot& slot) {
  slot.state = child_state::starting;
  slot.died_early.reset();
  std::string child_path = path + "/" + slot.spec.id;
  if (slot.spec.supervisor) {
    auto nested = launch(owner, *slot.spec.supervisor, child_path);
    if (!nested) {
      slot.state = child_state::stopped;
      return error(errc::launch_failed, "child '" + slot.spec.id + "' failed to start: " + nested.error().message,
                   nested.error().reason);
    }
    slot.nested = *nested;
    caf::actor target = slot.nested->actor();
    if (target) {
      slot.watched = target.address();
      self->monitor(target);
    } else {
      slot.died_early = exit_reason::because(exit_reason::kind::shutdown, "exited while starting");
      self->send(self, dead_atom::value, slot.key);
    }
  } else {
    spawn_options options;
    options.name = child_path;
    options.args = slot.spec.args;
    options.method = slot.spec.method;
    options.program = slot.spec.program;
    options.heartbeat = slot.spec.heartbeat;
    auto handle = owner.spawn(slot.spec.actor_type, std::move(options));
    if (!handle) {
      slot.state = child_state::stopped;
      return error(handle.error().code == errc::node_stopped ? errc::node_stopped : errc::launch_failed,
                   "child '" + slot.spec.id + "' failed to start: " + to_string(handle.error()), handle.error().reason);
    }
    slot.handle = *handle;
    caf::actor proxy = proxy_of(owner, *handle);
    if (proxy) {
      slot.watched = proxy.address();
      self->monitor(proxy);
    } else {
      // It already exited: no proxy is left to monitor, so report the exit ourselves.
      slot.died_early = handle->exit().value_or(exit_reason::normal());
      self->send(self, dead_atom::value, slot.key);
    }
  }
  slot.state = child_state::running;
  ++slot.incarnation;
  slot.started_at = clock::now();
  if (slot.handle) {
    slot.name->up(*slot.handle);
  }
  return {};
}

expected<std::shared_ptr<supervisor_core>> supervisor_core::launch(node& n, supervisor_spec spec, std::string path) {
  if (auto checked = check_spec(spec); !checked) return checked.error();
  auto core = std::make_shared<supervisor_core>(n, std::move(spec), std::move(path));
  {
    caf::actor spawned = n.system().spawn<caf::detached>(supervisor_actor, core);
    std::lock_guard lock(core->jobs_mutex);
    core->actor_ = std::move(spawned);
  }
  // Children start in order, each once ready; the first failure undoes the rest.
  auto started = core->on_thread<bool>([c = core.get()]() -> expected<bool> {
    if (c->spec.strategy == restart_strategy::simple_one_for_one) return true;  // children come with start_child
    for (auto& s : c->spec.children) c->add_slot(s);
    for (auto& slot : c->children) {
      auto r = c->start_slot(slot);
      if (!r) {
        c->shut_down(exit_reason::shutdown());
        return r.error();
      }
    }
    return true;
  });
  if (!started) {
    core->wait_exit(job_patience);
    return started.error();
  }
  return core;
}

}  // namespace detail

// ------------------------------------------------------------------ public API

using detail::supervisor_core;

const char* to_string(child_state state) {
  switch (state) {
    case child_state::starting:
      return "starting";
    case child_state::running:
      return "running";
    case child_state::restarting:
      return "restarting";
    case child_state::stopping:
      return "stopping";
    case child_state::stopped:
      return "stopped";
  }
  return "unknown";
}

std::string to_string(const restart_event& event) {
  static constexpr const char* actions[] = {"restarted", "not restarted", "restart failed", "gave up"};
  std::time_t t = std::chrono::system_clock::to_time_t(event.when);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(stamp) + " " + event.supervisor + "/" + event.child + " incarnation " +
         std::to_string(event.incarnation) + " exited (" + to_string(event.reason) +
         "): " + actions[static_cast<int>(event.what)] +
         (event.delay.count() > 0 ? " after " + std::to_string(event.delay.count()) + " ms" : "");
}

std::string to_string(const std::vector<actor_snapshot>& tree) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-40s %-10s %8s %8s %10s %10s %10s %10s\n", "actor", "state", "pid", "restarts",
                "msgs in", "msgs out", "mailbox B", "rss KiB");
  out += line;
  for (auto& row : tree) {
    std::snprintf(line, sizeof line, "%-40s %-10s %8d %8llu %10llu %10llu %10zu %10zu\n",
                  (row.path + (row.is_supervisor ? " (sup)" : "")).c_str(), to_string(row.state), row.pid,
                  static_cast<unsigned long long>(row.restarts), static_cast<unsigned long long>(row.messages_in),
                  static_cast<unsigned long long>(row.messages_out), row.mailbox_bytes, row.rss_bytes / 1024);
    out += line;
  }
  return out;
}

expected<supervisor> supervisor::start(node& n, supervisor_spec spec) {
  std::string path = spec.name;
  auto core = supervisor_core::launch(n, std::move(spec), std::move(path));
  if (!core) return core.error();
  // The tree stops in order, top down, before the node stops whatever is left.
  std::weak_ptr<supervisor_core> weak = *core;
  n.add_shutdown_hook([weak] {
    if (auto c = weak.lock()) supervisor(c).stop();
  });
  return supervisor(*core);
}

const std::string& supervisor::name() const { return core_->path; }

expected<supervisor> supervisor::child_supervisor(std::string_view id) const {
  if (auto slash = id.find('/'); slash != std::string_view::npos) {
    auto parent = child_supervisor(id.substr(0, slash));
    if (!parent) return parent.error();
    return parent->child_supervisor(id.substr(slash + 1));
  }
  auto nested = core_->on_thread<std::shared_ptr<supervisor_core>>(
      [c = core_.get(), key = std::string(id)]() -> expected<std::shared_ptr<supervisor_core>> {
        auto* slot = c->find(key);
        if (slot == nullptr) return error(errc::unknown_actor, "no child '" + key + "'");
        if (!slot->nested) return error(errc::actor_down, "child '" + key + "' is not a running supervisor");
        return slot->nested;
      });
  if (!nested) return nested.error();
  return supervisor(*nested);
}

named_actor supervisor::child(std::string_view id) const {
  if (auto slash = id.rfind('/'); slash != std::string_view::npos) {
    auto parent = child_supervisor(id.substr(0, slash));
    if (parent) return parent->child(id.substr(slash + 1));
    return named_actor(std::make_shared<detail::name_entry>(std::string(id), restarting_policy::fail, 0));
  }
  auto entry = core_->on_thread<std::shared_ptr<detail::name_entry>>(
      [c = core_.get(), key = std::string(id)]() -> expected<std::shared_ptr<detail::name_entry>> {
        if (auto* slot = c->find(key)) return slot->name;
        return error(errc::unknown_actor, "no child '" + key + "'");
      });
  if (entry) return named_actor(*entry);
  // An unknown child (or a dead supervisor): a handle whose every call fails.
  return named_actor(std::make_shared<detail::name_entry>(std::string(id), restarting_policy::fail, 0));
}

std::vector<child_info> supervisor::which_children() const {
  auto rows = core_->on_thread<std::vector<child_info>>([c = core_.get()] {
    std::vector<child_info> out;
    for (auto& slot : c->children) out.push_back(c->info_of(slot));
    return out;
  });
  return rows ? *rows : std::vector<child_info>{};
}

child_counts supervisor::count_children() const {
  child_counts counts;
  // As in OTP, a simple_one_for_one supervisor has one spec however many
  // children it started from it; workers and supervisors count the children.
  if (core_->spec.strategy == restart_strategy::simple_one_for_one) counts.specs = 1;
  for (auto& c : which_children()) {
    if (core_->spec.strategy != restart_strategy::simple_one_for_one) ++counts.specs;
    if (c.state == child_state::running) ++counts.active;
    if (c.is_supervisor) {
      ++counts.supervisors;
    } else {
      ++counts.workers;
    }
  }
  return counts;
}

expected<child_info> supervisor::start_child(child_spec spec) const {
  return core_->on_thread<child_info>([c = core_.get(), spec = std::move(spec)]() mutable -> expected<child_info> {
    if (c->spec.strategy == restart_strategy::simple_one_for_one) {
      return error(errc::invalid_argument, "a simple_one_for_one supervisor starts children with start_child(args)");
    }
    if (auto checked = check_child_spec(spec, c->path); !checked) return checked.error();
    if (c->find(spec.id)) {
      return error(errc::invalid_argument,
                   "supervisor '" + c->path + "': child ids must be unique; '" + spec.id + "' already exists");
    }
    return c->add_and_start(std::move(spec));
  });
}

expected<child_info> supervisor::start_child(std::vector<std::string> args) const {
  return core_->on_thread<child_info>([c = core_.get(), args = std::move(args)]() -> expected<child_info> {
    if (c->spec.strategy != restart_strategy::simple_one_for_one) {
      return error(errc::invalid_argument, "start_child(args) is for simple_one_for_one supervisors");
    }
    child_spec spec = c->spec.children.front();
    spec.id = c->dynamic_child_id(++c->dynamic_children);
    spec.args.insert(spec.args.end(), args.begin(), args.end());
    return c->add_and_start(std::move(spec));
  });
}

expected<void> supervisor::terminate_child(std::string_view id) const {
  auto done = core_->on_thread<bool>([c = core_.get(), key = std::string(id)]() -> expected<bool> {
    auto* slot = c->find(key);
    // As in OTP, terminating a dynamic child that is already gone succeeds.
    if (slot == nullptr && c->was_dynamic_child(key)) return true;
    if (slot == nullptr) return error(errc::unknown_actor, "no child '" + key + "'");
    slot->name->down(false);
    c->stop_slot(*slot);
    slot->state = child_state::stopped;
    // A temporary child's spec goes with it, and so does a dynamic child's.
    if (slot->spec.restart == restart_type::temporary || c->spec.strategy == restart_strategy::simple_one_for_one) {
      c->children.erase(c->children.begin() + static_cast<std::ptrdiff_t>(c->index_of(slot->key)));
    }
    return true;
  });
  if (!done) return done.error();
  return {};
}

expected<child_info> supervisor::restart_child(std::string_view id) const {
  return core_->on_thread<child_info>([c = core_.get(), key = std::string(id)]() -> expected<child_info> {
    auto* slot = c->find(key);
    if (slot == nullptr) return error(errc::unknown_actor, "no child '" + key + "'");
    if (slot->state != child_state::stopped) return error(errc::invalid_argument, "child '" + key + "' is running");
    if (auto r = c->start_slot(*slot); !r) return r.error();
    return c->info_of(*slot);
  });
}

expected<void> supervisor::delete_child(std::string_view id) const {
  auto done = core_->on_thread<bool>([c = core_.get(), key = std::string(id)]() -> expected<bool> {
    auto* slot = c->find(key);
    if (slot == nullptr) return error(errc::unknown_actor, "no child '" + key + "'");
    if (slot->state != child_state::stopped) return error(errc::invalid_argument, "child '" + key + "' is running");
    c->children.erase(c->children.begin() + static_cast<std::ptrdiff_t>(c->index_of(slot->key)));
    return true;
  });
  if (!done) return done.error();
  return {};
}

std::vector<restart_event> supervisor::restart_log() const {
  std::lock_guard lock(core_->log_mutex);
  return {core_->log.begin(), core_->log.end()};
}

std::vector<actor_snapshot> supervisor::snapshot() const {
  auto rows = core_->on_thread<std::vector<actor_snapshot>>([c = core_.get()] {
    std::vector<actor_snapshot> out;
    c->snapshot_into(out);
    return out;
  });
  return rows ? *rows : std::vector<actor_snapshot>{};
}

void supervisor::stop() const {
  (void)core_->on_thread<bool>([c = core_.get()] {
    c->shut_down(exit_reason::shutdown());
    return true;
  });
  core_->wait_exit(std::chrono::hours(24));
}

bool supervisor::alive() const {
  std::lock_guard lock(core_->exit_mutex);
  return !core_->exit.has_value();
}

expected<exit_reason> supervisor::join(std::chrono::milliseconds timeout) const {
  if (!core_->wait_exit(timeout)) return error(errc::timeout, "supervisor '" + core_->path + "' is still running");
  std::lock_guard lock(core_->exit_mutex);
  return *core_->exit;
}

}  // namespace actorproc
