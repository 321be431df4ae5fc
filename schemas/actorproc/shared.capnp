@0xc8a4f19e6b2d7053;
# The shared-state actors' protocol (libactorproc/patterns/shared.hpp): Manager's
# dict and list. Values are any Cap'n Proto struct, tagged with its type id.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actorproc::schema");

struct SharedValue {
  valueType @0 :UInt64;
  value @1 :AnyPointer;
}

struct DictSet { key @0 :Text; entry @1 :SharedValue; }
struct DictGet { key @0 :Text; }
struct DictDelete { key @0 :Text; }
struct DictKeys {}
struct ListAppend { entry @0 :SharedValue; }
struct ListGet { index @0 :Int64; }          # negative counts from the end, as in Python
struct ListLen {}

struct SharedFound { found @0 :Bool; entry @1 :SharedValue; }
struct SharedKeys { keys @0 :List(Text); }
struct SharedSize { size @0 :UInt64; }
struct SharedOk {}
