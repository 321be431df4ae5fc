#include <actorproc/node/exit_decision.hpp>

namespace actorproc::detail {

exit_reason decide_exit_reason(const exit_evidence& evidence) {
  if (evidence.imposed) return *evidence.imposed;
  if (evidence.announced && !evidence.announced->is_normal()) return *evidence.announced;
  if (evidence.kernel.what == exit_reason::kind::normal) {
    if (evidence.announced) return *evidence.announced;
    return evidence.stop_reason.value_or(exit_reason::normal());
  }
  return evidence.kernel;
}

}  // namespace actorproc::detail
