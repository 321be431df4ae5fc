#pragma once
// expected<T>: a value or an actorproc::error. C++20 has no std::expected, and
// exceptions are the wrong tool for outcomes that are normal in a multi-process
// program (a timeout, a dead peer), so every fallible API returns one of these.

#include <actorproc/base/error.hpp>

#include <cassert>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace actorproc {

/// Thrown only by `expected::value()` on an error, for callers that prefer
/// exceptions at their own API boundary.
class bad_expected_access : public std::runtime_error {
 public:
  explicit bad_expected_access(actorproc::error err) : std::runtime_error(to_string(err)), error_(std::move(err)) {}
  const actorproc::error& error() const { return error_; }

 private:
  actorproc::error error_;
};

template <class T>
class expected {
 public:
  expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  expected(actorproc::error err) : state_(std::in_place_index<1>, std::move(err)) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& operator*() & { return std::get<0>(state_); }
  const T& operator*() const& { return std::get<0>(state_); }
  T* operator->() { return &std::get<0>(state_); }
  const T* operator->() const { return &std::get<0>(state_); }

  T& value() & {
    if (!has_value()) throw bad_expected_access(error());
    return std::get<0>(state_);
  }
  T&& value() && {
    if (!has_value()) throw bad_expected_access(error());
    return std::get<0>(std::move(state_));
  }
  const actorproc::error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, actorproc::error> state_;
};

template <>
class expected<void> {
 public:
  expected() = default;
  expected(actorproc::error err) : error_(std::move(err)), failed_(true) {}

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (failed_) throw bad_expected_access(error_);
  }
  const actorproc::error& error() const { return error_; }

 private:
  actorproc::error error_;
  bool failed_ = false;
};

}  // namespace actorproc
