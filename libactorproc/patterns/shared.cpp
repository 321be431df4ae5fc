#include "shared_actors.hpp"

#include "waiters.hpp"

#include <actorproc/patterns/field_update.hpp>

namespace actorproc {
namespace detail {

stored_value copy_value(schema::SharedValue::Reader in) {
  auto out = std::make_unique<capnp::MallocMessageBuilder>();
  out->setRoot(in);
  return out;
}

expected<resolved_update> resolve_update(capnp::StructSchema schema, uint64_t type_id,
                                         std::initializer_list<dict_op> ops) {
  resolved_update out;
  out.type_id = type_id;
  auto layout = schema.getProto().getStruct();
  out.data_words = layout.getDataWordCount();
  out.pointers = layout.getPointerCount();
  for (const auto& op : ops) {
    auto found = schema.findFieldByName(op.field);
    capnp::StructSchema::Field* f = nullptr;
    KJ_IF_MAYBE(field, found) { f = field; }
    if (f == nullptr || !f->getProto().isSlot() || f->getType().which() != capnp::schema::Type::INT64) {
      return error(errc::invalid_argument, "'" + op.field + "' is not an Int64 field of " +
                                               std::string(schema.getShortDisplayName().cStr()));
    }
    auto slot = f->getProto().getSlot();
    out.ops.push_back(resolved_update::op{static_cast<uint32_t>(slot.getOffset()), slot.getDefaultValue().getInt64(),
                                          op.what, op.operand, op.expected});
  }
  return out;
}

void fill_update(schema::DictUpdate::Builder b, const resolved_update& update, const std::string& key, bool create) {
  b.setKey(key);
  b.setValueType(update.type_id);
  b.setCreate(create);
  b.setDataWords(update.data_words);
  b.setPointers(update.pointers);
  auto ops = b.initOps(static_cast<unsigned>(update.ops.size()));
  for (unsigned i = 0; i < ops.size(); ++i) {
    const auto& op = update.ops[i];
    ops[i].setOffset(op.offset);
    ops[i].setDefaultValue(op.default_value);
    ops[i].setKind(op.what == dict_op::kind::add   ? schema::FieldOp::Kind::ADD
                   : op.what == dict_op::kind::set ? schema::FieldOp::Kind::SET
                                                   : schema::FieldOp::Kind::COMPARE_AND_SET);
    ops[i].setOperand(op.operand);
    ops[i].setExpected(op.expected);
  }
}

dict_update_result update_result_of(schema::DictUpdated::Reader r) {
  dict_update_result out;
  out.applied = r.getApplied();
  for (auto v : r.getValues()) out.values.push_back(v);
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

namespace {

// The update `m` applied to `entries` (bounded by `max_entries` when it creates).
expected<detail::field_update_result> apply_update(std::map<std::string, detail::stored_value, std::less<>>& entries,
                                                   std::size_t max_entries, schema::DictUpdate::Reader m) {
  std::string_view key(m.getKey().cStr(), m.getKey().size());
  auto it = entries.find(key);
  if (it == entries.end()) {
    if (!m.getCreate()) return error(errc::invalid_argument, "key '" + std::string(key) + "' not found");
    if (entries.size() >= max_entries) {
      return error(errc::invalid_argument, "the dict is full (" + std::to_string(max_entries) + " entries)");
    }
    auto fresh = std::make_unique<capnp::MallocMessageBuilder>();
    auto entry = fresh->initRoot<schema::SharedValue>();
    entry.setValueType(m.getValueType());
    entry.getValue().initAsAnyStruct(m.getDataWords(), m.getPointers());
    it = entries.emplace(std::string(key), std::move(fresh)).first;
  }
  auto entry = it->second->getRoot<schema::SharedValue>();
  if (entry.getValueType() != m.getValueType()) {
    return error(errc::type_mismatch, "key '" + std::string(key) + "' is of another type");
  }
  std::vector<detail::field_op> ops;
  ops.reserve(m.getOps().size());
  for (auto op : m.getOps()) {
    using K = schema::FieldOp::Kind;
    auto what = op.getKind() == K::ADD   ? detail::field_op::kind::add
                : op.getKind() == K::SET ? detail::field_op::kind::set
                                         : detail::field_op::kind::compare_and_set;
    ops.push_back({op.getOffset(), op.getDefaultValue(), what, op.getOperand(), op.getExpected()});
  }
  auto data = entry.getValue().getAs<capnp::AnyStruct>().getDataSection();
  return detail::apply_field_ops(std::as_writable_bytes(std::span(data.begin(), data.size())), ops);
}

}  // namespace

void dict_actor::on(schema::DictUpdate::Reader m, context& ctx) {
  auto outcome = apply_update(entries_, max_entries_, m);
  if (!ctx.is_request()) {
    // One-way: the sender's next sync() hears of the first failure.
    if (!outcome) failed_updates_.emplace(ctx.sender().id, outcome.error());
    return;
  }
  if (!outcome) return refuse(ctx, outcome.error().code, outcome.error().message);
  ctx.reply<schema::DictUpdated>([&](schema::DictUpdated::Builder out) {
    out.setApplied(outcome->applied);
    auto values = out.initValues(static_cast<unsigned>(outcome->values.size()));
    for (unsigned i = 0; i < values.size(); ++i) values.set(i, outcome->values[i]);
  });
}

void dict_actor::on(schema::DictSync::Reader, context& ctx) {
  auto it = failed_updates_.find(ctx.sender().id);
  if (it == failed_updates_.end()) return ctx.reply<schema::SharedOk>();
  error failed = std::move(it->second);
  failed_updates_.erase(it);
  refuse(ctx, failed.code, "a one-way update failed: " + failed.message);
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
