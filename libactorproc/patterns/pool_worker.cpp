// The worker side of the pool: the actor that runs chunks of tasks, and its registration.
#include "pool_worker.hpp"

#include <actorproc/base/type_id_text.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace actorproc {

namespace detail {

pool_worker::pool_worker(context& ctx, const std::shared_ptr<const pool_functions>& functions) : functions_(functions) {
  if (functions_->initializer()) functions_->initializer()(ctx.args());
}

void pool_worker::on(schema::PoolRun::Reader run, context& ctx) {
  ctx.reply<schema::PoolDone>([&](schema::PoolDone::Builder done) {
    auto tasks = run.getTasks();
    auto outcomes = done.initOutcomes(tasks.size());
    for (uint32_t i = 0; i < tasks.size(); ++i) {
      auto out = outcomes[i];
      auto fail = [&](errc code, const std::string& why) {
        out.getValue().clear();
        out.setFailed(true);
        out.setCode(static_cast<uint16_t>(code));
        out.setMessage(why);
      };
      const auto* fn = functions_->find(tasks[i].getTaskType());
      if (fn == nullptr) {
        fail(errc::unhandled_message, "no function of this pool takes tasks of type " +
                                          type_id_text(tasks[i].getTaskType()));
        continue;
      }
      out.setResultType(fn->result_type);
      // A task's exception is that task's outcome, not the worker's death
      // (Python's rule): the worker carries on with the next task.
      try {
        fn->run(tasks[i].getInput(), out.getValue());
      } catch (const std::exception& e) {
        fail(errc::handler_exception, e.what());
      } catch (...) {
        fail(errc::handler_exception, "the task threw a non-standard exception");
      }
    }
  });
}

}  // namespace detail

void add_pool(entry_table& actors, pool_functions functions, std::string type) {
  actors.add<detail::pool_worker>(
      std::move(type), std::shared_ptr<const pool_functions>(std::make_shared<pool_functions>(std::move(functions))));
}

}  // namespace actorproc
