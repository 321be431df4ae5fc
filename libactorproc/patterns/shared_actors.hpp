#pragma once
// The dict's and the list's actors: the server side of patterns/shared.hpp,
// which documents the semantics. Private to the patterns layer (never installed).

#include <actorproc/patterns/shared.hpp>

#include <capnp/message.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace actorproc {

namespace detail {
using stored_value = std::unique_ptr<capnp::MallocMessageBuilder>;  // root: SharedValue
stored_value copy_value(schema::SharedValue::Reader in);
}  // namespace detail

class dict_actor {
 public:
  using handles = actorproc::handles<schema::DictSet, schema::DictGet, schema::DictDelete, schema::DictKeys,
                                     schema::DictUpdate, schema::DictSync>;
  explicit dict_actor(context& ctx);
  void on(schema::DictSet::Reader m, context& ctx);
  void on(schema::DictGet::Reader m, context& ctx);
  void on(schema::DictDelete::Reader m, context& ctx);
  void on(schema::DictKeys::Reader m, context& ctx);
  void on(schema::DictUpdate::Reader m, context& ctx);
  void on(schema::DictSync::Reader m, context& ctx);

 private:
  std::size_t max_entries_;
  std::map<std::string, detail::stored_value, std::less<>> entries_;
  // The first failed one-way update of each sender since its last DictSync.
  std::map<uint64_t, error> failed_updates_;
};

class list_actor {
 public:
  using handles = actorproc::handles<schema::ListAppend, schema::ListGet, schema::ListLen>;
  explicit list_actor(context& ctx);
  void on(schema::ListAppend::Reader m, context& ctx);
  void on(schema::ListGet::Reader m, context& ctx);
  void on(schema::ListLen::Reader m, context& ctx);

 private:
  std::size_t max_entries_;
  std::vector<detail::stored_value> items_;
};

}  // namespace actorproc
