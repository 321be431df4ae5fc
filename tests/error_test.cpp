// base/error: every errc has a name and a class that says what its caller should do.
#define BOOST_TEST_MODULE error
#include <boost/test/unit_test.hpp>

#include <actorproc/base/error.hpp>

#include <set>
#include <string>

using actorproc::errc;
using actorproc::error_class;

namespace {

// The class each errc must have, written out once more on purpose: a change to
// classify() must be a change to this table too. No default, so -Wswitch names
// an errc added without deciding its class here.
error_class expected_class(errc code) {
  switch (code) {
    case errc::timeout:
      return error_class::retry_later;
    case errc::mailbox_full:
      return error_class::retry_later;
    case errc::actor_down:
      return error_class::peer_gone;
    case errc::unknown_actor:
      return error_class::peer_gone;
    case errc::type_mismatch:
      return error_class::usage_bug;
    case errc::unhandled_message:
      return error_class::usage_bug;
    case errc::handler_exception:
      return error_class::failed;
    case errc::no_reply:
      return error_class::usage_bug;
    case errc::protocol_error:
      return error_class::peer_gone;
    case errc::launch_failed:
      return error_class::failed;
    case errc::node_stopped:
      return error_class::peer_gone;
    case errc::invalid_argument:
      return error_class::usage_bug;
    case errc::system_error:
      return error_class::failed;
    case errc::actor_restarting:
      return error_class::retry_later;
    case errc::end_of_stream:
      return error_class::peer_gone;
    case errc::queue_full:
      return error_class::retry_later;
    case errc::queue_empty:
      return error_class::retry_later;
    case errc::queue_closed:
      return error_class::peer_gone;
    case errc::cancelled:
      return error_class::failed;
    case errc::pool_closed:
      return error_class::usage_bug;
    case errc::broken:
      return error_class::failed;
    case errc::too_large:
      return error_class::limit;
  }
  BOOST_FAIL("an errc outside the enumeration");
  return error_class::failed;
}

// The enumerators are numbered from 1 without gaps; too_large is the last.
constexpr auto first = static_cast<uint16_t>(errc::timeout);
constexpr auto last = static_cast<uint16_t>(errc::too_large);

}  // namespace

BOOST_AUTO_TEST_CASE(every_errc_has_its_documented_class_and_a_name) {
  std::set<std::string> names;
  std::set<error_class> used;
  for (uint16_t v = first; v <= last; ++v) {
    auto code = static_cast<errc>(v);
    std::string name = to_string(code);
    BOOST_TEST(name != "unknown_error", "errc " << v << " has no name");
    BOOST_TEST(names.insert(name).second, "two errc are named " << name);
    BOOST_TEST((classify(code) == expected_class(code)), name << " is classified " << to_string(classify(code)));
    used.insert(classify(code));
  }
  // Every class says something about at least one errc.
  for (auto c : {error_class::retry_later, error_class::peer_gone, error_class::usage_bug, error_class::limit,
                 error_class::failed}) {
    BOOST_TEST(used.count(c) == 1u, to_string(c) << " classifies no errc");
  }
}

BOOST_AUTO_TEST_CASE(a_code_outside_the_enumeration_is_a_failure_with_no_name) {
  // Such a value can arrive off the wire (a task outcome's code from a worker).
  auto stray = static_cast<errc>(last + 1);
  BOOST_TEST(std::string(to_string(stray)) == "unknown_error");
  BOOST_TEST((classify(stray) == error_class::failed));
}
