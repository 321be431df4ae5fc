@0xd4eb52405105882e;
# The port actor's protocol (libactorproc/patterns/port.hpp).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

# One frame to the command's stdin: a line (the port appends '\n') or a
# length-prefixed frame. Answered with PortOk once written into the pipe.
struct PortWrite { data @0 :Data; }

# Closes the command's stdin once the writes queued before it are written.
struct PortCloseInput {}

# The next frame of the command's stdout, waiting up to timeoutMillis.
struct PortRead { timeoutMillis @0 :UInt32; }

# The answer to PortRead, and what a subscriber receives for each frame.
struct PortFrame { data @0 :Data; }

# To a subscriber: the command's stdout has ended; no more PortFrames follow.
struct PortEnd {}

# Sends a signal to the command (Popen.send_signal).
struct PortSignal { signal @0 :Int32; }

struct PortStat {}
struct PortStatus {
  pid @0 :Int32;               # the command's pid (0 once it has exited)
  running @1 :Bool;
  bufferedFrames @2 :UInt32;   # read from stdout, not yet handed out
  readingPaused @3 :Bool;      # stdout is not read: the buffer is full (backpressure)
  pendingInput @4 :UInt64;     # bytes accepted by PortWrite, not yet in the pipe
  inputOpen @5 :Bool;
}

struct PortOk {}
