#pragma once
// libactorproc: actors that are OS processes, supervised, talking Cap'n Proto.
//
// Start here:
// - actor/entry_table.hpp: how an actor type is written and registered;
// - actor/context.hpp: what a handler can do inside its worker process;
// - node/node.hpp: the host process, spawning and process hygiene;
// - node/actor_handle.hpp: sending, requesting, stopping, joining, monitoring;
// - base/exit_reason.hpp, base/error.hpp: outcomes as values;
// - wire/shared_buffer.hpp: large payloads, passed as sealed memfds.

#include <actorproc/actor/entry_table.hpp>
#include <actorproc/actor/worker.hpp>
#include <actorproc/base/error.hpp>
#include <actorproc/base/exit_reason.hpp>
#include <actorproc/base/expected.hpp>
#include <actorproc/node/actor_handle.hpp>
#include <actorproc/node/node.hpp>
#include <actorproc/node/stop_ladder.hpp>
#include <actorproc/patterns/pipe.hpp>
#include <actorproc/patterns/pool.hpp>
#include <actorproc/patterns/lock.hpp>
#include <actorproc/patterns/port.hpp>
#include <actorproc/patterns/queue.hpp>
#include <actorproc/patterns/shared.hpp>
#include <actorproc/patterns/sync.hpp>
#include <actorproc/supervise/supervisor.hpp>
#include <actorproc/wire/buffer_pool.hpp>
#include <actorproc/wire/shared_buffer.hpp>
