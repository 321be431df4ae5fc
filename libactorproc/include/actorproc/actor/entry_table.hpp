#pragma once
// entry_table: the program's actor types, registered explicitly in main().
//
// There is no global registry and no registration macro: main() builds a table
// and gives it to both run_if_worker() (so the program can become a worker) and
// the node (so the zygote can fork workers of those types).
//
//   actorproc::entry_table actors;
//   actors.add<counter>("counter");
//
// An actor type is a plain class:
// - `using handles = actorproc::handles<A, B, ...>;` lists the Cap'n Proto
//   message types it accepts, and it has `on(A::Reader)` or
//   `on(A::Reader, actorproc::context&)` for each. Dispatch is by schema type id
//   (capnp::typeId<T>()), so no names are involved.
// - It is constructed from `actorproc::context&` (plus the values given to
//   add()) if it has such a constructor, otherwise default-constructed; an exception from the constructor fails the
//   spawn with `launch_failed`.
// - Optionally `on_down(actor_ref who, const exit_reason&, context&)`, called
//   for actors it monitors.

#include <actorproc/actor/context.hpp>

#include <capnp/any.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actorproc {

template <class... Messages>
struct handles {};

namespace detail {

class behavior {
 public:
  virtual ~behavior() = default;
  /// False when the actor has no handler for `type_id`.
  virtual bool dispatch(uint64_t type_id, capnp::AnyPointer::Reader body, context& ctx) = 0;
  virtual void down(actor_ref who, const exit_reason& why, context& ctx) = 0;
};

using actor_factory = std::function<std::unique_ptr<behavior>(context&)>;

template <class>
inline constexpr bool always_false = false;

template <class Actor, class M>
bool dispatch_one(Actor& actor, uint64_t type_id, capnp::AnyPointer::Reader body, context& ctx) {
  if (type_id != capnp::typeId<M>()) return false;
  auto reader = body.getAs<M>();
  if constexpr (requires { actor.on(reader, ctx); }) {
    actor.on(reader, ctx);
  } else if constexpr (requires { actor.on(reader); }) {
    actor.on(reader);
  } else {
    static_assert(always_false<M>, "an actor lists a message type in `handles` but has no on() for it");
  }
  return true;
}

template <class Actor, class List>
class behavior_of;

template <class Actor, class... Ms>
class behavior_of<Actor, handles<Ms...>> final : public behavior {
 public:
  /// Builds the Actor in place from `args`. Not from a function returning an
  /// Actor: the ABI may return a trivially copyable class in registers and
  /// copy it into place, so a `this` its constructor captured (a timer's
  /// callback) would point at a dead temporary.
  template <class... Args>
  explicit behavior_of(std::in_place_t, Args&&... args) : actor_(std::forward<Args>(args)...) {}

  bool dispatch(uint64_t type_id, capnp::AnyPointer::Reader body, context& ctx) override {
    return (dispatch_one<Actor, Ms>(actor_, type_id, body, ctx) || ...);
  }
  void down(actor_ref who, const exit_reason& why, context& ctx) override {
    if constexpr (requires { actor_.on_down(who, why, ctx); }) actor_.on_down(who, why, ctx);
  }

 private:
  Actor actor_;
};

}  // namespace detail

class entry_table {
 public:
  /// Registers `Actor` under `name`. Values in `bound` (copied into the table)
  /// are passed to its constructor after the context: Actor(ctx, bound...).
  /// That is how a type gets configuration known in main(), such as the
  /// functions of a pool, without globals.
  template <class Actor, class... Bound>
  entry_table& add(std::string name, Bound... bound) {
    static_assert(
        requires { typename Actor::handles; },
        "an actor type declares the messages it accepts: using handles = actorproc::handles<...>;");
    entries_[std::move(name)] = [bound...](context& ctx) -> std::unique_ptr<detail::behavior> {
      using built = detail::behavior_of<Actor, typename Actor::handles>;
      if constexpr (std::is_constructible_v<Actor, context&, const Bound&...>) {
        return std::make_unique<built>(std::in_place, ctx, bound...);
      } else {
        static_assert(sizeof...(Bound) == 0, "Actor has no constructor Actor(context&, bound...)");
        return std::make_unique<built>(std::in_place);
      }
    };
    return *this;
  }

  /// The factory registered under `name`, or null.
  const detail::actor_factory* find(std::string_view name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& [name, factory] : entries_) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, detail::actor_factory, std::less<>> entries_;
};

}  // namespace actorproc
