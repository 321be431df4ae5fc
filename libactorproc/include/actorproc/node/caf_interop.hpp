#pragma once
// For CAF actors in the node (supervisors, the pool's dispatcher, a program's own): each actor process
// is represented by a CAF proxy actor that exits when the process exits, with
// the process's exit reason as its CAF exit error. So a CAF actor watches a
// process with plain `self->monitor(proxy_of(handle))` and gets a down_msg.
//
// This header includes CAF; include it only in translation units that use CAF.

#include <actorproc/base/exit_reason.hpp>
#include <actorproc/node/actor_handle.hpp>

#include <caf/actor.hpp>
#include <caf/error.hpp>

namespace actorproc {

class node;

/// The CAF proxy of an actor process (invalid once the process has exited).
caf::actor proxy_of(node& n, const actor_handle& handle);

/// The category of the CAF errors built by to_caf_error().
inline constexpr caf::atom_value caf_error_category = caf::atom("actorproc");

/// An exit reason as a CAF exit error: none for normal, otherwise an error in
/// category "actorproc" whose code is the kind and whose context holds
/// (code, signal, core_dumped, detail).
caf::error to_caf_error(const exit_reason& reason);
/// The inverse of to_caf_error(); other CAF errors map to kind exception.
exit_reason from_caf_error(const caf::error& err);

}  // namespace actorproc
