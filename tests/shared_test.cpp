// Manager-style shared state: dict and list actors, with Python's errors as values.
#define BOOST_TEST_MODULE shared
#define BOOST_TEST_NO_MAIN
#include "test_main.hpp"

using namespace actorproc;
using test_actors::table;

namespace {
auto text(const std::string& t) {
  return [t](testing::Echo::Builder b) { b.setText(t); };
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_dict_sets_gets_deletes_and_lists_its_keys) {
  node n{table()};
  auto handle = start_dict(n, 2).value();
  dict_client<actor_handle> d(handle);
  BOOST_REQUIRE(d.set<testing::Echo>("b", text("bee")));
  BOOST_REQUIRE(d.set<testing::Echo>("a", text("ay")));
  BOOST_REQUIRE(d.set<testing::Echo>("a", text("ay again")));  // replacing needs no room
  BOOST_TEST(std::string(d.get<testing::Echo>("a")->value().getText()) == "ay again");
  BOOST_TEST(*d.keys() == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());

  auto full = d.set<testing::Echo>("c", text("sea"));
  BOOST_REQUIRE(!full);
  BOOST_TEST((full.error().code == errc::invalid_argument));
  auto missing = d.get<testing::Echo>("zzz");  // Python's KeyError
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code == errc::invalid_argument));
  auto wrong_type = d.get<testing::Report>("a");
  BOOST_REQUIRE(!wrong_type);
  BOOST_TEST((wrong_type.error().code == errc::type_mismatch));
  BOOST_REQUIRE(d.erase("a"));
  BOOST_TEST(!d.erase("a"));
  BOOST_TEST(d.keys()->size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_list_appends_and_indexes_like_python) {
  node n{table()};
  auto handle = start_list(n, 3).value();
  list_client<actor_handle> l(handle);
  for (auto t : {"x", "y", "z"}) BOOST_REQUIRE(l.append<testing::Echo>(text(t)));
  BOOST_TEST(*l.size() == 3u);
  BOOST_TEST(std::string(l.at<testing::Echo>(0)->value().getText()) == "x");
  BOOST_TEST(std::string(l.at<testing::Echo>(-1)->value().getText()) == "z");
  auto out_of_range = l.at<testing::Echo>(3);  // Python's IndexError
  BOOST_REQUIRE(!out_of_range);
  BOOST_TEST((out_of_range.error().code == errc::invalid_argument));
  BOOST_TEST(!l.at<testing::Echo>(-4));
  auto full = l.append<testing::Echo>(text("w"));
  BOOST_REQUIRE(!full);
  BOOST_TEST((full.error().code == errc::invalid_argument));
}
