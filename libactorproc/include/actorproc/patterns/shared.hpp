#pragma once
// Shared state, like multiprocessing.Manager's dict and list: state-owner actors.
//
//   actorproc::add_shared(actors);                                   // in main()
//   auto d = actorproc::start_dict(node).value();
//   actorproc::dict_client<actorproc::actor_handle> dict(d);        // from the node
//   dict.set<Count>("count", [](Count::Builder b) { b.setValue(0); });
//   // in an actor: auto dict = actorproc::dict_in(ctx, {dict_id});
//   auto v = dict.get<Count>("count");        // expected<shared_value<Count>>; unknown_actor... as values
//
// Each dict or list is one actor process; every operation is one request, so
// each is atomic on its own. A read-modify-write across several operations
// (d['count'] += 1) needs a Lock around it, exactly as with Python's Manager
// (patterns/lock.hpp). Values are any Cap'n Proto struct, copied in and out;
// reading one as another type fails with type_mismatch. Sizes are bounded by
// the node's frame limit per value, and by `max_entries` per container.

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/client.hpp>
#include <actorproc/shared.capnp.h>

#include <string>
#include <vector>

namespace actorproc {

/// Registers the dict and list actor types ("actorproc.dict", "actorproc.list").
void add_shared(entry_table& actors);
expected<actor_handle> start_dict(node& n, std::size_t max_entries = 100000);
expected<actor_handle> start_list(node& n, std::size_t max_entries = 100000);

/// A value read from a dict or list: reads as T.
template <class T>
class shared_value {
 public:
  explicit shared_value(message<schema::SharedFound> m) : message_(std::move(m)) {}
  typename T::Reader value() const { return message_.getEntry().getValue().template getAs<T>(); }

 private:
  message<schema::SharedFound> message_;
};

namespace detail {
template <class T>
expected<shared_value<T>> found_as(expected<message<schema::SharedFound>> m, const std::string& what) {
  if (!m) return m.error();
  if (!m->getFound()) return error(errc::invalid_argument, what + " not found");
  if (m->getEntry().getValueType() != capnp::typeId<T>())
    return error(errc::type_mismatch, what + " is of another type");
  return shared_value<T>(std::move(*m));
}
template <class T, class Fill>
void fill_entry(schema::SharedValue::Builder entry, Fill& fill) {
  entry.setValueType(capnp::typeId<T>());
  fill(entry.getValue().template initAs<T>());
}
}  // namespace detail

template <class Caller>
class dict_client {
 public:
  explicit dict_client(Caller caller) : caller_(std::move(caller)) {}
  template <class T, class Fill>
  expected<void> set(const std::string& key, Fill&& fill) {
    return detail::ok(caller_.template request<schema::DictSet, schema::SharedOk>(
        [&](schema::DictSet::Builder b) {
          b.setKey(key);
          detail::fill_entry<T>(b.initEntry(), fill);
        },
        default_timeout));
  }
  /// Fails with invalid_argument when the key is absent (Python's KeyError).
  template <class T>
  expected<shared_value<T>> get(const std::string& key) {
    return detail::found_as<T>(caller_.template request<schema::DictGet, schema::SharedFound>(
                                   [&](schema::DictGet::Builder b) { b.setKey(key); }, default_timeout),
                               "key '" + key + "'");
  }
  expected<void> erase(const std::string& key) {
    return detail::ok(caller_.template request<schema::DictDelete, schema::SharedOk>(
        [&](schema::DictDelete::Builder b) { b.setKey(key); }, default_timeout));
  }
  expected<std::vector<std::string>> keys() {
    auto k = caller_.template request<schema::DictKeys, schema::SharedKeys>(no_fields{}, default_timeout);
    if (!k) return k.error();
    std::vector<std::string> out;
    for (auto key : k->getKeys()) out.emplace_back(key);
    return out;
  }

 private:
  Caller caller_;
};

template <class Caller>
class list_client {
 public:
  explicit list_client(Caller caller) : caller_(std::move(caller)) {}
  template <class T, class Fill>
  expected<void> append(Fill&& fill) {
    return detail::ok(caller_.template request<schema::ListAppend, schema::SharedOk>(
        [&](schema::ListAppend::Builder b) { detail::fill_entry<T>(b.initEntry(), fill); }, default_timeout));
  }
  /// Fails with invalid_argument when out of range (Python's IndexError).
  template <class T>
  expected<shared_value<T>> at(int64_t index) {
    return detail::found_as<T>(caller_.template request<schema::ListGet, schema::SharedFound>(
                                   [&](schema::ListGet::Builder b) { b.setIndex(index); }, default_timeout),
                               "index " + std::to_string(index));
  }
  expected<std::size_t> size() {
    auto s = caller_.template request<schema::ListLen, schema::SharedSize>(no_fields{}, default_timeout);
    if (!s) return s.error();
    return static_cast<std::size_t>(s->getSize());
  }

 private:
  Caller caller_;
};

inline dict_client<from_actor> dict_in(context& ctx, actor_ref d) {
  return dict_client<from_actor>(from_actor{ctx, d});
}
inline list_client<from_actor> list_in(context& ctx, actor_ref l) {
  return list_client<from_actor>(from_actor{ctx, l});
}

}  // namespace actorproc
