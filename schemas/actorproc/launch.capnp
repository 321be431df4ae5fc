@0xd1c0b6a4e2f35871;
# The node <-> zygote protocol: one LaunchRequest (with the child's mailbox socket
# attached), answered by one LaunchReply (with the child's pidfd attached on success).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

struct LaunchRequest {
  actorType @0 :Text;
  name @1 :Text;
  id @2 :UInt64;
  args @3 :List(Text);
  method @4 :Method;
  program @5 :Text;         # exec only: the binary to run; empty means this program
  nodePid @6 :Int32;        # the child re-checks its parent against this after PR_SET_PDEATHSIG
  extraFds @7 :UInt8;       # descriptors attached after the mailbox, handed to the child as-is

  enum Method {
    zygote @0;
    exec @1;
  }
}

struct LaunchReply {
  pid @0 :Int32;
  errorNumber @1 :Int32;    # 0 on success (a pidfd is attached), else errno
  message @2 :Text;         # what failed, for the launch_failed error
}
