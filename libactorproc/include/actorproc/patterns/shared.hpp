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
//
// Atomic updates do a read-modify-write in one message, where Python needs a
// lock and four round trips:
//
//   auto n = dict.add<Count>("hits", "value", 1);          // expected<int64_t>: the new value
//   auto r = dict.update<Account>("alice", {dict_op::add("balance", -5), dict_op::add("spent", 5)});
//   auto s = dict.update<Count>("n", {dict_op::compare_and_set("value", 7, 8)});  // r->applied
//   dict.add_nowait<Count>("hits", "value", 1);            // one-way; dict.sync() reports failures
//
// - update() changes Int64 fields of one entry, named as in T's schema. Its
//   operations apply in order, all or none, with no other operation on the
//   dict in between: that is what is atomic. It answers each field's new
//   value. A compare_and_set that finds another value changes nothing and
//   answers `applied` false with the values found (not an error).
// - A missing key fails with invalid_argument, unless `create` is set (the
//   default of add()): the entry then starts as a T with its defaults. An
//   entry of another type fails with type_mismatch; a field that is not an
//   Int64 of T, with invalid_argument (before anything is sent); an add that
//   overflows, with invalid_argument; a create in a full dict, with
//   invalid_argument.
// - add_nowait() is one-way: it returns once sent, and the dict applies it in
//   order with this client's other operations, so any later request from the
//   same client (a get, sync()) sees it. Its failure cannot answer it: the
//   dict keeps the first one, and this client's next sync() fails with it.

#include <actorproc/actor/context.hpp>
#include <actorproc/actor/entry_table.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/patterns/client.hpp>
#include <actorproc/shared.capnp.h>

#include <capnp/schema.h>

#include <initializer_list>
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

/// One operation of dict_client::update() on an Int64 field of the entry.
struct dict_op {
  enum class kind { add, set, compare_and_set };
  std::string field;
  kind what = kind::add;
  int64_t operand = 0;
  int64_t expected = 0;
  static dict_op add(std::string field, int64_t delta) { return {std::move(field), kind::add, delta, 0}; }
  static dict_op set(std::string field, int64_t value) { return {std::move(field), kind::set, value, 0}; }
  static dict_op compare_and_set(std::string field, int64_t expected, int64_t desired) {
    return {std::move(field), kind::compare_and_set, desired, expected};
  }
};

/// What dict_client::update() found and did.
struct dict_update_result {
  bool applied = true;          // false: a compare_and_set found another value
  std::vector<int64_t> values;  // each operation's field, after the update
};

namespace detail {
/// An update with its fields found in the value type's schema.
struct resolved_update {
  uint64_t type_id = 0;
  uint16_t data_words = 0;
  uint16_t pointers = 0;
  struct op {
    uint32_t offset;
    int64_t default_value;
    dict_op::kind what;
    int64_t operand;
    int64_t expected;
  };
  std::vector<op> ops;
};
/// Finds each operation's field among `schema`'s Int64 fields (else invalid_argument).
expected<resolved_update> resolve_update(capnp::StructSchema schema, uint64_t type_id,
                                         std::initializer_list<dict_op> ops);
void fill_update(schema::DictUpdate::Builder b, const resolved_update& update, const std::string& key, bool create);
dict_update_result update_result_of(schema::DictUpdated::Reader r);
}  // namespace detail

template <class Caller>
class dict_client {
 public:
  explicit dict_client(Caller caller) : caller_(std::move(caller)) {}

  /// The atomic update of Int64 fields of `key`'s entry, a T (see above).
  template <class T>
  expected<dict_update_result> update(const std::string& key, std::initializer_list<dict_op> ops,
                                      bool create = false) {
    auto resolved = detail::resolve_update(capnp::Schema::from<T>(), capnp::typeId<T>(), ops);
    if (!resolved) return resolved.error();
    auto r = caller_.template request<schema::DictUpdate, schema::DictUpdated>(
        [&](schema::DictUpdate::Builder b) { detail::fill_update(b, *resolved, key, create); }, default_timeout);
    return detail::then(std::move(r), [](auto& u) { return detail::update_result_of(u); });
  }
  /// `field` of `key`'s T += delta, atomically; the new value. A missing key
  /// starts as a T with its defaults (unless `create` is false).
  template <class T>
  expected<int64_t> add(const std::string& key, const std::string& field, int64_t delta, bool create = true) {
    auto r = update<T>(key, {dict_op::add(field, delta)}, create);
    if (!r) return r.error();
    return r->values.at(0);
  }
  /// add() one-way: returns once sent; this client's later requests see it,
  /// and its next sync() reports a failure.
  template <class T>
  expected<void> add_nowait(const std::string& key, const std::string& field, int64_t delta, bool create = true) {
    auto resolved = detail::resolve_update(capnp::Schema::from<T>(), capnp::typeId<T>(), {dict_op::add(field, delta)});
    if (!resolved) return resolved.error();
    return caller_.template send<schema::DictUpdate>(
        [&](schema::DictUpdate::Builder b) { detail::fill_update(b, *resolved, key, create); }, default_timeout);
  }
  /// Returns once every one-way update this client sent before is applied;
  /// fails with the first of them that failed since the last sync().
  expected<void> sync() {
    return detail::ok(detail::simple_request<schema::DictSync, schema::SharedOk>(caller_));
  }

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
  return dict_client<from_actor>(direct_caller(ctx, d));
}
inline list_client<from_actor> list_in(context& ctx, actor_ref l) {
  return list_client<from_actor>(direct_caller(ctx, l));
}

}  // namespace actorproc
