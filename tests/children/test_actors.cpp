// The actor types the test suites spawn. Each behaviour a test needs (crash in a
// given way, nap, relay a request, write garbage to the mailbox) is a message.
// Sleeping here is the behaviour under test (a slow consumer, a hung handler).
// Longer than 450 lines on purpose: one entry table that every test program
// and test child links, compiled once; each type is small and self-contained.

#include "test_actors.hpp"

#include <actorproc/actorproc.hpp>
#include <actorproc/wire/frame_writer.hpp>
#include <tests/testing.capnp.h>

#include <capnp/message.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace test_actors {

inline std::vector<int> open_fds() {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    int fd = std::atoi(entry->d_name);
    if (fd != ::dirfd(dir)) fds.push_back(fd);
  }
  ::closedir(dir);
  return fds;
}

// A real invalid access (not raise()), on a page mapped without access.
inline void segfault() {
  void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *static_cast<volatile int*>(page) = 1;
}

inline void write_raw(int fd, const void* data, std::size_t size) { (void)!::send(fd, data, size, MSG_NOSIGNAL); }

// Writes one deliberately bad frame of the given kind to the mailbox.
inline void send_garbage(actorproc::context& ctx, testing::SendGarbage::Kind kind) {
  int fd = actorproc::detail::mailbox_fd(ctx);
  using K = testing::SendGarbage::Kind;
  switch (kind) {
    case K::TOO_MANY_SEGMENTS: {
      uint32_t header[2] = {0xFFFF, 1};
      write_raw(fd, header, sizeof header);
      break;
    }
    case K::OVERSIZED: {
      uint32_t header[2] = {0, 0x0FFFFFFF};  // one segment of 2 GiB
      write_raw(fd, header, sizeof header);
      break;
    }
    case K::BAD_POINTER: {
      // One segment of two words whose root struct pointer points far outside it.
      uint32_t frame[6] = {0, 2, (1000u << 2), 0x00010000u, 0, 0};
      write_raw(fd, frame, sizeof frame);
      break;
    }
    case K::UNKNOWN_KIND: {
      capnp::MallocMessageBuilder message;
      auto fake = message.initRoot<testing::FakeEnvelope>();
      fake.setFrom(ctx.id());
      fake.initF().setAs<capnp::Text>("from the future");
      actorproc::wire::frame_writer out;
      out.append(message);
      out.flush(fd);
      break;
    }
    case K::TRUNCATED: {
      uint32_t header[2] = {0, 10};  // announces ten words, sends one, then closes its side
      uint64_t word = 0;
      write_raw(fd, header, sizeof header);
      write_raw(fd, &word, sizeof word);
      ::shutdown(fd, SHUT_WR);
      break;
    }
    case K::BATCH_WITH_CORRELATION: {
      capnp::MallocMessageBuilder message;
      auto env = message.initRoot<actorproc::schema::Envelope>();
      env.setFrom(ctx.id());
      env.setTo(ctx.id());
      env.setCorrelation(7);
      env.initBatch(2)[0].setTypeId(capnp::typeId<testing::Tick>());
      actorproc::wire::frame_writer out;
      out.append(message);
      out.flush(fd);
      break;
    }
    case K::SPOOFED_SENDER: {
      capnp::MallocMessageBuilder message;
      auto env = message.initRoot<actorproc::schema::Envelope>();
      env.setFrom(ctx.id() + 1000);
      env.initSystem().setReady();
      actorproc::wire::frame_writer out;
      out.append(message);
      out.flush(fd);
      break;
    }
    case K::WRONG_POINTER_KIND: {
      // Discriminant `user`, but the pointer is a list where a struct belongs: it
      // passes a mere bounds walk, and once crashed the node when read.
      capnp::MallocMessageBuilder message;
      auto fake = message.initRoot<testing::FakeEnvelope>();
      fake.setFrom(ctx.id());
      fake.initA().initAs<capnp::List<uint32_t>>(3);
      actorproc::wire::frame_writer out;
      out.append(message);
      out.flush(fd);
      break;
    }
    case K::EMPTY_FRAME: {
      uint32_t header[2] = {0, 0};
      write_raw(fd, header, sizeof header);
      break;
    }
  }
}

// The all-purpose test actor.
struct echo {
  using handles =
      actorproc::handles<testing::Echo, testing::Crash, testing::Nap, testing::WhoAmI, testing::Relay,
                         testing::SendGarbage, testing::Tick, testing::Stats, testing::Watch, testing::Flood,
                         testing::Seq, testing::SeqStats, testing::NestedSend, testing::BigReply, testing::Connect>;

  explicit echo(actorproc::context& ctx) {
    // args[0], if given, is a delay in milliseconds per Tick: a slow consumer.
    if (!ctx.args().empty()) tick_delay = std::chrono::milliseconds(std::stoi(ctx.args()[0]));
  }

  void on(testing::Echo::Reader m, actorproc::context& ctx) {
    std::string text = m.getText();
    ctx.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
  }

  void on(testing::Crash::Reader m, actorproc::context& ctx) {
    using H = testing::Crash::How;
    switch (m.getHow()) {
      case H::STOP_NORMALLY:
        ctx.stop();
        break;
      case H::SEGFAULT:
        segfault();
        break;
      case H::ABORT:
        std::abort();
      case H::EXIT3:
        std::exit(3);
      case H::THROW_EXCEPTION:
        throw std::runtime_error("boom in the handler");
      case H::IGNORE_TERM_AND_HANG:
        ::signal(SIGTERM, SIG_IGN);
        for (;;) ::pause();
      case H::RUN_OUT_OF_MEMORY:
        run_out_of_memory();
        break;
    }
  }

  // The kernel refuses the allocation (RLIMIT_AS), so operator new throws
  // std::bad_alloc out of the handler. 64 MiB of headroom lets the worker
  // still announce its exit. Kept in a member: an allocation nobody can see
  // may be elided.
  void run_out_of_memory() {
    std::size_t pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%zu", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    std::size_t mapped = pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    rlimit limit{mapped + (64 << 20), RLIM_INFINITY};
    if (pages == 0 || ::setrlimit(RLIMIT_AS, &limit) != 0) throw std::runtime_error("cannot set RLIMIT_AS");
    hoard.emplace_back(new char[std::size_t{1} << 30]);
  }

  void on(testing::Nap::Reader m, actorproc::context& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(m.getMillis()));
    ctx.reply<testing::Echo>([](testing::Echo::Builder b) { b.setText("rested"); });
  }

  void on(testing::WhoAmI::Reader, actorproc::context& ctx) {
    auto fds = open_fds();
    ctx.reply<testing::Identity>([&](testing::Identity::Builder b) {
      b.setId(ctx.id());
      b.setName(ctx.name());
      b.setPid(::getpid());
      b.setPpid(::getppid());
      auto args = b.initArgs(static_cast<unsigned>(ctx.args().size()));
      for (unsigned i = 0; i < args.size(); ++i) args.set(i, ctx.args()[i]);
      auto list = b.initOpenFds(static_cast<unsigned>(fds.size()));
      for (unsigned i = 0; i < list.size(); ++i) list.set(i, fds[i]);
    });
  }

  void on(testing::Relay::Reader m, actorproc::context& ctx) {
    std::string text = m.getText();
    auto answer = ctx.request<testing::Echo, testing::Echo>(
        {m.getTarget()}, [&](testing::Echo::Builder b) { b.setText(text); },
        std::chrono::milliseconds(m.getTimeoutMillis() ? m.getTimeoutMillis() : 5000));
    std::string result = answer ? std::string(answer->get().getText()) : "error: " + to_string(answer.error());
    ctx.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText(result); });
  }

  void on(testing::SendGarbage::Reader m, actorproc::context& ctx) { send_garbage(ctx, m.getKind()); }

  void on(testing::Tick::Reader) {
    if (tick_delay.count() > 0) std::this_thread::sleep_for(tick_delay);
    ++ticks;
  }

  void on(testing::Stats::Reader, actorproc::context& ctx) {
    ctx.reply<testing::Report>([&](testing::Report::Builder b) {
      b.setReceived(ticks);
      b.setText(last_down);
    });
  }

  void on(testing::Watch::Reader m, actorproc::context& ctx) {
    ctx.monitor({m.getTarget()});
    if (ctx.is_request()) ctx.reply<testing::Echo>([](testing::Echo::Builder b) { b.setText("watching"); });
  }

  void on(testing::Flood::Reader m, actorproc::context& ctx) {
    uint64_t sent = 0;
    std::string failure;
    for (; sent < m.getCount(); ++sent) {
      auto r = !m.getNumbered() ? ctx.send<testing::Tick>({m.getTarget()})
                                : ctx.send<testing::Seq>({m.getTarget()}, [&](testing::Seq::Builder b) {
                                    b.setN(sent);
                                    if (m.getBigEvery() != 0 && (sent + 1) % m.getBigEvery() == 0) b.initPad(20000);
                                  });
      if (!r) {
        failure = to_string(r.error());
        break;
      }
    }
    ctx.reply<testing::Report>([&](testing::Report::Builder b) {
      b.setReceived(sent);
      b.setText(failure);
    });
  }

  // Each burst is numbered from 0; within it, every number must follow the
  // last. Several senders at once name themselves in the top 16 bits (most
  // tests have one, sender 0), and each keeps its own numbering.
  void on(testing::Seq::Reader m) {
    uint64_t sender = m.getN() >> 48;
    uint64_t n = m.getN() & ((uint64_t{1} << 48) - 1);
    uint64_t& next = next_seq[sender];
    uint64_t expected = n == 0 ? 0 : next;
    if (n != expected && seq_error.empty()) {
      seq_error = "sender " + std::to_string(sender) + ": expected " + std::to_string(expected) + ", got " +
                  std::to_string(n);
    }
    next = n + 1;
    ++seqs;
  }

  void on(testing::SeqStats::Reader, actorproc::context& ctx) {
    ctx.reply<testing::Report>([&](testing::Report::Builder b) {
      b.setReceived(seqs);
      b.setText(seq_error);
    });
  }

  void on(testing::BigReply::Reader m, actorproc::context& ctx) {
    std::string text(m.getBytes(), 'x');
    ctx.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
  }

  void on(testing::Connect::Reader m, actorproc::context& ctx) {
    auto made = ctx.connect({m.getTarget()});
    std::string text = made ? "connected" : to_string(made.error());
    ctx.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
  }

  void on(testing::NestedSend::Reader m, actorproc::context& ctx) {
    actorproc::actor_ref target{m.getTarget()};
    (void)ctx.send<testing::Tick>(target, [&](testing::Tick::Builder) {
      (void)ctx.request<testing::Echo, testing::Echo>(target);
    });
  }

  void on_down(actorproc::actor_ref who, const actorproc::exit_reason& why, actorproc::context&) {
    last_down = std::to_string(who.id) + ": " + to_string(why);
  }

  std::chrono::milliseconds tick_delay{0};
  uint64_t ticks = 0;
  std::string last_down;
  uint64_t seqs = 0;
  std::map<uint64_t, uint64_t> next_seq;  // per sender
  std::string seq_error;
  std::vector<std::unique_ptr<char[]>> hoard;  // run_out_of_memory()'s allocations
};

// Misbehaves depending on a marker file named by args[0]:
// - its constructor throws once the marker exists when args[1] is "fail-start";
// - an Echo request aborts the process the first time (creating the marker) and
//   is answered by every later incarnation, when args[1] is "crash-once".
struct flaky {
  using handles = actorproc::handles<testing::Echo>;
  explicit flaky(actorproc::context& ctx) : marker(ctx.args().at(0)), mode(ctx.args().at(1)) {
    if (mode == "fail-start" && ::access(marker.c_str(), F_OK) == 0) throw std::runtime_error("marker present");
  }
  void on(testing::Echo::Reader m, actorproc::context& ctx) {
    if (mode == "crash-once" && ::access(marker.c_str(), F_OK) != 0) {
      std::fclose(std::fopen(marker.c_str(), "w"));
      std::abort();
    }
    std::string text = m.getText();
    ctx.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
  }
  std::string marker, mode;
};

std::string flood_text(uint64_t i, std::size_t bytes) {
  std::string text = std::to_string(i) + ":";
  if (text.size() < bytes) text.resize(bytes, 'x');
  return text;
}

// Serves a pipe: the end given at spawn (spawn_options::fds) or later (PipeAdopt).
struct piper {
  using handles = actorproc::handles<testing::PipeServe, testing::PipeAdopt, testing::PipeFlood>;
  explicit piper(actorproc::context& ctx) {
    if (!ctx.inherited_fds().empty()) end = actorproc::pipe_end(std::move(ctx.inherited_fds()[0]));
  }
  void on(testing::PipeAdopt::Reader, actorproc::context& ctx) {
    auto fds = ctx.take_received_fds();
    if (!fds.empty()) end = actorproc::pipe_end(std::move(fds[0]));
  }
  void on(testing::PipeServe::Reader m, actorproc::context& ctx) {
    uint64_t served = 0;
    std::string failure;
    for (; served < m.getCount(); ++served) {
      auto in = end.receive<testing::Echo>(std::chrono::seconds(20));
      if (!in) {
        failure = to_string(in.error());
        break;
      }
      std::string text = in->getText();
      end.send<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
    }
    if (ctx.is_request()) {
      ctx.reply<testing::Report>([&](testing::Report::Builder b) {
        b.setReceived(served);
        b.setText(failure);
      });
    }
  }
  void on(testing::PipeFlood::Reader m, actorproc::context& ctx) {
    using F = testing::PipeFlood::Finish;
    std::string failure;
    for (uint32_t i = 0; i < m.getCount() && failure.empty(); ++i) {
      std::string text = flood_text(i, m.getBytes());
      auto timeout = m.getSendTimeoutMillis() != 0 ? std::chrono::milliseconds(m.getSendTimeoutMillis())
                                                   : std::chrono::milliseconds(20000);
      auto sent = end.send<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); }, timeout);
      if (!sent) failure = "send " + std::to_string(i) + ": " + to_string(sent.error());
    }
    switch (m.getFinish()) {
      case F::EXIT_HOLDING_END:
        ctx.stop();
        break;
      case F::CLOSE_THEN_EXIT:
        end.close().value();  // a loss crashes the actor, with the count of bytes lost as its reason
        ctx.stop();
        break;
      case F::CLOSE_AND_REPORT: {
        auto closed = end.close(std::chrono::milliseconds(m.getLingerMillis()));
        if (!closed) failure = to_string(closed.error());
        ctx.reply<testing::Report>([&](testing::Report::Builder b) { b.setText(failure); });
        break;
      }
      case F::REPORT_AND_IDLE:
        ctx.reply<testing::Report>([&](testing::Report::Builder b) {
          b.setReceived(end.unsent_bytes());
          b.setText(failure);
        });
        break;
      case F::RECEIVE_THEN_REPORT: {
        uint32_t received = 0;
        for (; received < m.getCount() && failure.empty(); ++received) {
          auto in = end.receive<testing::Echo>(std::chrono::seconds(60));
          if (!in) {
            failure = "receive " + std::to_string(received) + ": " + to_string(in.error());
          } else if (in->getText().size() != m.getBytes() ||
                     !std::string_view(in->getText().cStr()).starts_with(std::to_string(received) + ":")) {
            failure = "message " + std::to_string(received) + " out of order or cut";
          }
        }
        if (!failure.empty()) --received;
        end.send<testing::Report>([&](testing::Report::Builder b) {
          b.setReceived(received);
          b.setText(failure);
        });
        break;
      }
    }
  }
  actorproc::pipe_end end;
};

// Produces into and consumes from a queue, from inside a worker. Its client
// lets go (returns what it fetched and did not hand out) before the reply,
// unless asked to hold it until the next QueueWork.
struct queue_worker {
  using handles = actorproc::handles<testing::QueueWork>;
  void on(testing::QueueWork::Reader m, actorproc::context& ctx) {
    if (!m.getHold()) held.reset();  // a held client serves the next QueueWork too
    if (!held) {
      actorproc::queue_client_options options;
      if (m.getPrefetch() != 0) options = {.prefetch = m.getPrefetch(), .credits = m.getPrefetch(), .horizon = {}};
      held.emplace(actorproc::queue_in(ctx, {m.getQueue()}, options));
    }
    auto& q = *held;
    std::string prefix = m.getPrefix(), taken, failure;
    uint64_t count = 0;
    for (uint32_t i = 0; i < m.getProduce() && failure.empty(); ++i) {
      auto put = q.put<testing::Echo>([&](testing::Echo::Builder b) { b.setText(prefix + std::to_string(i)); },
                                      std::chrono::seconds(20));
      if (!put) failure = to_string(put.error());
    }
    for (uint32_t i = 0; i < m.getTake() && failure.empty(); ++i) {
      auto item = q.get<testing::Echo>(std::chrono::seconds(20));
      if (!item) {
        failure = to_string(item.error());
        break;
      }
      taken += std::string(item->value().getText()) + " ";
      ++count;
      if (m.getAck()) {
        if (auto done = q.task_done(); !done) failure = to_string(done.error());
      }
    }
    if (!m.getHold()) held.reset();
    ctx.reply<testing::Report>([&](testing::Report::Builder b) {
      b.setReceived(count);
      b.setText(failure.empty() ? taken : "error: " + failure);
    });
  }
  std::optional<actorproc::queue_client<actorproc::from_actor>> held;
};

// Takes and gives a lock from inside a worker.
struct locker {
  using handles = actorproc::handles<testing::LockTake, testing::LockGive>;
  void on(testing::LockTake::Reader m, actorproc::context& ctx) {
    auto grant = actorproc::lock_in(ctx, {m.getLock()}).acquire(std::chrono::milliseconds(m.getTimeoutMillis()));
    std::string text = !grant                        ? "error: " + to_string(grant.error())
                       : grant->previous_holder_died ? "died: " + grant->previous_holder_reason
                                                     : "ok";
    ctx.reply<testing::Report>([&](testing::Report::Builder b) {
      b.setReceived(grant ? 1 : 0);
      b.setText(text);
    });
  }
  void on(testing::LockGive::Reader m, actorproc::context& ctx) {
    auto released = actorproc::lock_in(ctx, {m.getLock()}).release();
    std::string text = released ? "ok" : "error: " + to_string(released.error());
    ctx.reply<testing::Report>([&](testing::Report::Builder b) { b.setText(text); });
  }
};

// Increments a dict entry from inside a worker (DictWork).
struct dict_worker {
  using handles = actorproc::handles<testing::DictWork>;
  void on(testing::DictWork::Reader m, actorproc::context& ctx) {
    auto dict = actorproc::dict_in(ctx, {m.getDict()});
    std::string key = m.getKey(), failure;
    for (uint32_t i = 0; i < m.getCount() && failure.empty(); ++i) {
      if (m.getOneWay()) {
        if (auto sent = dict.add_nowait<testing::Tally>(key, "count", 1); !sent) failure = to_string(sent.error());
      } else if (auto added = dict.add<testing::Tally>(key, "count", 1); !added) {
        failure = to_string(added.error());
      }
    }
    if (auto synced = dict.sync(); !synced && failure.empty()) failure = to_string(synced.error());
    auto seen = dict.get<testing::Tally>(key);
    if (!seen && failure.empty()) failure = to_string(seen.error());
    ctx.reply<testing::Report>([&](testing::Report::Builder b) {
      b.setReceived(seen ? static_cast<uint64_t>(seen->value().getCount()) : 0);
      b.setText(failure);
    });
  }
};

// Uses the synchronization actors from inside a worker. Each op answers a
// Report: `text` is "ok", the op's answer, or "error: <error>"; `received` a
// number the op returns.
struct syncer {
  using handles = actorproc::handles<testing::SyncDo>;
  void on(testing::SyncDo::Reader m, actorproc::context& ctx) {
    actorproc::actor_ref target{m.getTarget()};
    auto timeout = std::chrono::milliseconds(m.getTimeoutMillis());
    uint64_t number = 0;
    std::string text = "ok";
    auto failed = [&](const actorproc::error& e) { text = "error: " + to_string(e); };
    using Op = testing::SyncDo::Op;
    switch (m.getOp()) {
      case Op::SEM_ACQUIRE:  // `times` permits, each waited for up to the timeout; received: how many
        for (uint32_t i = 0; i < m.getTimes() && text == "ok"; ++i) {
          if (auto r = actorproc::semaphore_in(ctx, target).acquire(timeout); r) {
            ++number;
          } else {
            failed(r.error());
          }
        }
        break;
      case Op::SEM_RELEASE:
        if (auto r = actorproc::semaphore_in(ctx, target).release(); !r) failed(r.error());
        break;
      case Op::EVENT_WAIT:  // "true" or "false"
        if (auto r = actorproc::event_in(ctx, target).wait(timeout); r) {
          text = *r ? "true" : "false";
        } else {
          failed(r.error());
        }
        break;
      case Op::COND_WAIT: {  // acquire, wait, release: "notified" or "timed out", and "; died: <reason>"
        auto cond = actorproc::condition_in(ctx, target);
        if (auto g = cond.acquire(timeout); !g) {
          failed(g.error());
          break;
        }
        auto woke = cond.wait(timeout, std::chrono::milliseconds(m.getReacquireMillis()));
        if (!woke) {
          failed(woke.error());
          break;
        }
        text = woke->notified ? "notified" : "timed out";
        if (woke->lock.previous_holder_died) text += "; died: " + woke->lock.previous_holder_reason;
        if (auto r = cond.release(); !r) failed(r.error());  // it holds the lock again, or this fails
        break;
      }
      case Op::COND_NOTIFY: {  // acquire, notify `times` (0: all), and keep the lock; received: how many woke
        auto cond = actorproc::condition_in(ctx, target);
        if (auto g = cond.acquire(timeout); !g) {
          failed(g.error());
          break;
        }
        auto woken = m.getTimes() == 0 ? cond.notify_all() : cond.notify(m.getTimes());
        if (woken) {
          number = *woken;
        } else {
          failed(woken.error());
        }
        break;
      }
      case Op::BARRIER_WAIT:  // received: the arrival index
        if (auto r = actorproc::barrier_in(ctx, target).wait(timeout); r) {
          number = *r;
        } else {
          failed(r.error());
        }
        break;
      case Op::COUNTER_ADD:  // `times` adds of 1; received: the value after the last
        for (uint32_t i = 0; i < m.getTimes() && text == "ok"; ++i) {
          if (auto r = actorproc::value_in<int64_t>(ctx, target).add(1); r) {
            number = static_cast<uint64_t>(*r);
          } else {
            failed(r.error());
          }
        }
        break;
    }
    ctx.reply<testing::Report>([&](testing::Report::Builder b) {
      b.setReceived(number);
      b.setText(text);
    });
  }
};

// A port's subscriber: collects the frames pushed to it. A Stats request is
// answered once PortEnd has arrived, with the frames "|"-separated.
struct port_listener {
  using handles = actorproc::handles<actorproc::schema::PortFrame, actorproc::schema::PortEnd, testing::Stats>;
  void on(actorproc::schema::PortFrame::Reader m) {
    frames += actorproc::frame_text(m) + "|";
    ++count;
  }
  void on(actorproc::schema::PortEnd::Reader, actorproc::context& ctx) {
    ended = true;
    answer_waiting(ctx);
  }
  void on(testing::Stats::Reader, actorproc::context& ctx) {
    waiting.push_back(ctx.defer());
    if (ended) answer_waiting(ctx);
  }
  void answer_waiting(actorproc::context& ctx) {
    for (auto& to : waiting) {
      ctx.reply_to<testing::Report>(to, [&](testing::Report::Builder b) {
        b.setReceived(count);
        b.setText(frames);
      });
    }
    waiting.clear();
  }
  std::vector<actorproc::deferred_reply> waiting;
  std::string frames;
  uint64_t count = 0;
  bool ended = false;
};

// Talks to a port from inside a worker (port_in).
struct port_user {
  using handles = actorproc::handles<testing::PortChat>;
  void on(testing::PortChat::Reader m, actorproc::context& ctx) {
    auto port = actorproc::port_in(ctx, {m.getPort()});
    std::string text;
    for (auto line : m.getLines()) {
      if (auto w = port.write(line.cStr()); !w) text += "write: " + to_string(w.error()) + "|";
    }
    if (auto c = port.close_input(); !c) text += "close: " + to_string(c.error()) + "|";
    for (;;) {
      auto line = port.read(std::chrono::seconds(20));
      if (!line) {
        text += to_string(line.error().code);
        break;
      }
      text += *line + "|";
    }
    ctx.reply<testing::Report>([&](testing::Report::Builder b) { b.setText(text); });
  }
};

// Fails to start: its constructor throws.
struct broken {
  using handles = actorproc::handles<testing::Echo>;
  broken() { throw std::runtime_error("cannot build this actor"); }
  void on(testing::Echo::Reader) {}
};

// The pool's test function: Work -> WorkResult (x * x, the worker's pid, what
// the initializer saw). The initializer throws for initargs "fail", and for
// "fail-after <marker>" once the marker file exists (the first start creates it).
inline std::string& initialized_with() {
  static std::string text;
  return text;
}

inline actorproc::pool_functions pool_functions() {
  actorproc::pool_functions functions;
  functions.initializer([](const std::vector<std::string>& args) {
    if (!args.empty() && args[0] == "fail") throw std::runtime_error("initializer refused");
    if (args.size() == 2 && args[0] == "fail-after") {
      int fd = ::open(args[1].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
      if (fd < 0) throw std::runtime_error("initializer refused after the first start");
      ::close(fd);
    }
    for (auto& a : args) initialized_with() += a;
  });
  functions.add<testing::Work, testing::WorkResult>([](testing::Work::Reader in, testing::WorkResult::Builder out) {
    if (in.hasGate()) {
      // Blocks until the test writes a byte to the FIFO (see pool_test's gate).
      int fd = ::open(in.getGate().cStr(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        char byte;
        (void)!::read(fd, &byte, 1);
        ::close(fd);
      }
    }
    using A = testing::Work::Action;
    switch (in.getAction()) {
      case A::NONE:
        break;
      case A::THROW_EXCEPTION:
        throw std::runtime_error("task " + std::to_string(in.getX()) + " refused");
      case A::SEGFAULT:
        segfault();
        break;
      case A::SEGFAULT_ONCE: {
        int fd = ::open(in.getMarker().cStr(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0) segfault();
        break;
      }
    }
    out.setValue(in.getX() * in.getX());
    out.setPid(::getpid());
    out.setInit(initialized_with());
  });
  return functions;
}

// A producer driven by ctx.after: its timer re-arms itself for "now" from
// inside itself, forever. Requests, heartbeats and a stop must still be served.
// Echo answers "fired <n>".
struct busy_timer {
  using handles = actorproc::handles<testing::Echo>;
  explicit busy_timer(actorproc::context& ctx) : ctx(&ctx) { arm(); }
  void arm() {
    ctx->after(std::chrono::milliseconds(0), [this] {
      ++fired;
      arm();
    });
  }
  void on(testing::Echo::Reader, actorproc::context& c) {
    c.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText("fired " + std::to_string(fired)); });
  }
  actorproc::context* ctx;
  uint64_t fired = 0;
};

// Trivially copyable on purpose, and its constructor captures `this` (in a
// timer and in `self`): it must be built where it lives, never copied there.
// Echo answers "in place, fired <n>" or "copied, fired <n>".
struct self_timer {
  using handles = actorproc::handles<testing::Echo>;
  explicit self_timer(actorproc::context& ctx) : self(this) {
    ctx.after(std::chrono::milliseconds(0), [this] { ++fired; });
  }
  void on(testing::Echo::Reader, actorproc::context& ctx) {
    std::string text = std::string(self == this ? "in place" : "copied") + ", fired " + std::to_string(fired);
    ctx.reply<testing::Echo>([&](testing::Echo::Builder b) { b.setText(text); });
  }
  const self_timer* self;
  uint64_t fired = 0;
};
static_assert(std::is_trivially_copyable_v<self_timer>, "the case the entry table must build in place");

// Reports how each signal asked about is disposed of and whether it is blocked,
// as this worker process started (see every_worker_starts_with_default_signal_...).
struct signal_reporter {
  using handles = actorproc::handles<testing::SignalQuery>;
  void on(testing::SignalQuery::Reader m, actorproc::context& ctx) {
    sigset_t mask;
    ::sigprocmask(SIG_BLOCK, nullptr, &mask);
    ctx.reply<testing::SignalReport>([&](testing::SignalReport::Builder r) {
      auto signals = m.getSignals();
      auto dispositions = r.initDispositions(signals.size());
      auto blocked = r.initBlocked(signals.size());
      for (unsigned i = 0; i < signals.size(); ++i) {
        struct sigaction now {};
        ::sigaction(signals[i], nullptr, &now);
        using D = testing::SignalReport::Disposition;
        dispositions.set(i, now.sa_handler == SIG_DFL ? D::DEFAULT : now.sa_handler == SIG_IGN ? D::IGNORED : D::HANDLED);
        blocked.set(i, sigismember(&mask, signals[i]) == 1);
      }
    });
  }
};

const actorproc::entry_table& table() {
  static const actorproc::entry_table actors = [] {
    actorproc::entry_table t;
    t.add<echo>("echo");
    t.add<broken>("broken");
    t.add<flaky>("flaky");
    t.add<piper>("piper");
    t.add<busy_timer>("busy_timer");
    t.add<self_timer>("self_timer");
    t.add<queue_worker>("queue_worker");
    t.add<locker>("locker");
    t.add<dict_worker>("dict_worker");
    t.add<syncer>("syncer");
    t.add<port_listener>("port_listener");
    t.add<port_user>("port_user");
    t.add<signal_reporter>("signal_reporter");
    actorproc::add_queue(t);
    actorproc::add_lock(t);
    actorproc::add_shared(t);
    actorproc::add_pool(t, pool_functions());
    actorproc::add_sync(t);
    actorproc::add_port(t);
    return t;
  }();
  return actors;
}

}  // namespace test_actors
