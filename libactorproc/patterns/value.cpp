#include "sync_actors.hpp"

#include "waiters.hpp"

namespace actorproc {

using detail::refuse;

namespace {

std::variant<int64_t, double> initial_value(const std::vector<std::string>& args) {
  if (args.at(0) == "float64") return std::bit_cast<double>(static_cast<uint64_t>(std::stoull(args.at(1))));
  return static_cast<int64_t>(std::stoll(args.at(1)));
}

std::variant<int64_t, double> scalar_of(schema::Scalar::Reader s) {
  if (s.isFloat64()) return s.getFloat64();
  return s.getInt64();
}

}  // namespace

value_actor::value_actor(context& ctx) : value_(initial_value(ctx.args())) {}

void value_actor::on(schema::ValueGet::Reader, context& ctx) { reply_value(ctx); }

void value_actor::on(schema::ValueSet::Reader m, context& ctx) {
  if (!matches(m.getValue())) return refuse(ctx, errc::type_mismatch, "set() with a value of another type");
  value_ = scalar_of(m.getValue());
  reply_value(ctx);
}

void value_actor::on(schema::ValueAdd::Reader m, context& ctx) {
  if (!matches(m.getDelta())) return refuse(ctx, errc::type_mismatch, "add() with a delta of another type");
  if (auto* i = std::get_if<int64_t>(&value_)) {
    int64_t sum = 0;
    if (__builtin_add_overflow(*i, m.getDelta().getInt64(), &sum)) {
      return refuse(ctx, errc::invalid_argument, "add() would overflow the int64 value");
    }
    *i = sum;
  } else {
    std::get<double>(value_) += m.getDelta().getFloat64();
  }
  reply_value(ctx);
}

void value_actor::on(schema::ValueCompareAndSet::Reader m, context& ctx) {
  if (!matches(m.getExpected()) || !matches(m.getDesired())) {
    return refuse(ctx, errc::type_mismatch, "compare_and_set() with values of another type");
  }
  bool swapped = scalar_of(m.getExpected()) == value_;
  if (swapped) value_ = scalar_of(m.getDesired());
  reply_value(ctx, swapped);
}

bool value_actor::matches(schema::Scalar::Reader s) const {
  return s.isFloat64() == std::holds_alternative<double>(value_);
}

void value_actor::reply_value(context& ctx, bool swapped) {
  ctx.reply<schema::ValueIs>([&](schema::ValueIs::Builder out) {
    std::visit([&](auto v) { detail::put_scalar(out.initValue(), v); }, value_);
    out.setSwapped(swapped);
  });
}

namespace detail {
expected<actor_handle> spawn_value(node& n, std::string name, std::vector<std::string> args) {
  return n.spawn("actorproc.value",
                 {.name = name.empty() ? std::string("value") : std::move(name), .args = std::move(args)});
}
}  // namespace detail

}  // namespace actorproc
