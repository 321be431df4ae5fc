#include <actorproc/supervise/restart_scope.hpp>

namespace actorproc::detail {

restart_scope scope_of_restart(restart_strategy strategy, std::span<const restart_type> types, std::size_t failed) {
  restart_scope scope;
  std::size_t from = failed;
  switch (strategy) {
    case restart_strategy::one_for_one:
    case restart_strategy::simple_one_for_one:
      scope.restart.push_back(failed);
      return scope;
    case restart_strategy::one_for_all:
      from = 0;
      break;
    case restart_strategy::rest_for_one:
      break;
  }
  for (std::size_t i = types.size(); i-- > from;) {
    if (i == failed) continue;
    scope.stop.push_back(i);
    if (types[i] == restart_type::temporary) scope.drop.push_back(i);
  }
  for (std::size_t i = from; i < types.size(); ++i) {
    if (i == failed || types[i] != restart_type::temporary) scope.restart.push_back(i);
  }
  return scope;
}

}  // namespace actorproc::detail
