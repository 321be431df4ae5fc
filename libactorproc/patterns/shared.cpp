#include "shared_actors.hpp"

#include "waiters.hpp"

namespace actorproc {
namespace detail {

stored_value copy_value(schema::SharedValue::Reader in) {
  auto out = std::make_unique<capnp::MallocMessageBuilder>();
  out->setRoot(in);
  return out;
}

}  // namespace detail

namespace {

std::size_t max_entries_of(context& ctx) { return ctx.args().empty() ? 100000 : std::stoul(ctx.args()[0]); }

void reply_found(context& ctx, const detail::stored_value* value) {
  ctx.reply<schema::SharedFound>([&](schema::SharedFound::Builder out) {
    out.setFound(value != nullptr);
    if (value) out.setEntry((*value)->getRoot<schema::SharedValue>().asReader());
  });
}

}  // namespace

using detail::refuse;

dict_actor::dict_actor(context& ctx) : max_entries_(max_entries_of(ctx)) {}

void dict_actor::on(schema::DictSet::Reader m, context& ctx) {
  std::string key = m.getKey();
  if (!entries_.count(key) && entries_.size() >= max_entries_) {
    return refuse(ctx, errc::invalid_argument, "the dict is full (" + std::to_string(max_entries_) + " entries)");
  }
  entries_[key] = detail::copy_value(m.getEntry());
  ctx.reply<schema::SharedOk>();
}

void dict_actor::on(schema::DictGet::Reader m, context& ctx) {
  auto it = entries_.find(std::string_view(m.getKey().cStr(), m.getKey().size()));
  reply_found(ctx, it == entries_.end() ? nullptr : &it->second);
}

void dict_actor::on(schema::DictDelete::Reader m, context& ctx) {
  auto it = entries_.find(std::string_view(m.getKey().cStr(), m.getKey().size()));
  if (it == entries_.end())
    return refuse(ctx, errc::invalid_argument, "key '" + std::string(m.getKey()) + "' not found");
  entries_.erase(it);
  ctx.reply<schema::SharedOk>();
}

void dict_actor::on(schema::DictKeys::Reader, context& ctx) {
  ctx.reply<schema::SharedKeys>([&](schema::SharedKeys::Builder out) {
    auto keys = out.initKeys(static_cast<unsigned>(entries_.size()));
    unsigned i = 0;
    for (auto& [key, value] : entries_) keys.set(i++, key);
  });
}

list_actor::list_actor(context& ctx) : max_entries_(max_entries_of(ctx)) {}

void list_actor::on(schema::ListAppend::Reader m, context& ctx) {
  if (items_.size() >= max_entries_) {
    return refuse(ctx, errc::invalid_argument, "the list is full (" + std::to_string(max_entries_) + " items)");
  }
  items_.push_back(detail::copy_value(m.getEntry()));
  ctx.reply<schema::SharedOk>();
}

void list_actor::on(schema::ListGet::Reader m, context& ctx) {
  int64_t index = m.getIndex() < 0 ? m.getIndex() + static_cast<int64_t>(items_.size()) : m.getIndex();
  bool inside = index >= 0 && index < static_cast<int64_t>(items_.size());
  reply_found(ctx, inside ? &items_[static_cast<std::size_t>(index)] : nullptr);
}

void list_actor::on(schema::ListLen::Reader, context& ctx) {
  ctx.reply<schema::SharedSize>([&](schema::SharedSize::Builder out) { out.setSize(items_.size()); });
}

expected<actor_handle> start_dict(node& n, std::size_t max_entries) {
  return n.spawn("actorproc.dict", {.name = "dict", .args = {std::to_string(max_entries)}});
}

expected<actor_handle> start_list(node& n, std::size_t max_entries) {
  return n.spawn("actorproc.list", {.name = "list", .args = {std::to_string(max_entries)}});
}

}  // namespace actorproc
