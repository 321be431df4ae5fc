// The pattern actor types, as a program's entry_table registers them. This is
// where the public add_*() functions meet the server classes, which stay in
// this layer's private headers: users name the functions, never the classes.

#include "lock_actor.hpp"
#include "port_actor.hpp"
#include "queue_actor.hpp"
#include "shared_actors.hpp"
#include "sync_actors.hpp"

namespace actorproc {

void add_queue(entry_table& actors) { actors.add<queue_actor>("actorproc.queue"); }

void add_lock(entry_table& actors) { actors.add<lock_actor>("actorproc.lock"); }

void add_shared(entry_table& actors) { actors.add<dict_actor>("actorproc.dict").add<list_actor>("actorproc.list"); }

void add_sync(entry_table& actors) {
  actors.add<semaphore_actor>("actorproc.semaphore")
      .add<event_actor>("actorproc.event")
      .add<condition_actor>("actorproc.condition")
      .add<barrier_actor>("actorproc.barrier")
      .add<value_actor>("actorproc.value");
}

void add_port(entry_table& actors) { actors.add<port_actor>(port_type); }

}  // namespace actorproc
