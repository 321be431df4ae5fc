#pragma once
// The port's actor: the server side of patterns/port.hpp, which documents the
// semantics. Private to the patterns layer (never installed).

#include <actorproc/patterns/port.hpp>

#include <memory>

namespace actorproc {

/// The port actor, registered by add_port(). Its state lives in port.cpp.
class port_actor {
 public:
  using handles = actorproc::handles<schema::PortWrite, schema::PortCloseInput, schema::PortRead, schema::PortSignal,
                                     schema::PortStat>;
  explicit port_actor(context& ctx);
  ~port_actor();
  port_actor(const port_actor&) = delete;
  port_actor& operator=(const port_actor&) = delete;

  void on(schema::PortWrite::Reader m, context& ctx);
  void on(schema::PortCloseInput::Reader m, context& ctx);
  void on(schema::PortRead::Reader m, context& ctx);
  void on(schema::PortSignal::Reader m, context& ctx);
  void on(schema::PortStat::Reader m, context& ctx);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace actorproc
