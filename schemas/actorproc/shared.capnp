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

# An atomic update of Int64 fields of one dict entry (dict_client::update):
# answered with DictUpdated when it is a request; one-way, a failure is kept
# for the sender's next DictSync.
struct DictUpdate {
  key @0 :Text;
  valueType @1 :UInt64;     # the entry must be of this type
  ops @2 :List(FieldOp);    # applied in order, all or none
  create @3 :Bool;          # a missing key starts as a struct of valueType with its defaults
  dataWords @4 :UInt16;     # that struct's size, for `create`
  pointers @5 :UInt16;
}
struct FieldOp {
  offset @0 :UInt32;        # the Int64 field's slot offset (8-byte units of the data section)
  defaultValue @1 :Int64;   # its schema default (Cap'n Proto stores value XOR default)
  kind @2 :Kind;
  operand @3 :Int64;        # add: the delta; set, compareAndSet: the new value
  expected @4 :Int64;       # compareAndSet: the value the field must hold
  enum Kind { add @0; set @1; compareAndSet @2; }
}
struct DictUpdated {
  applied @0 :Bool;         # false: a compareAndSet found another value; nothing changed
  values @1 :List(Int64);   # each op's field after the update (as found, if not applied)
}
struct DictSync {}          # answered once every earlier one-way update of the sender is applied

struct SharedFound { found @0 :Bool; entry @1 :SharedValue; }
struct SharedKeys { keys @0 :List(Text); }
struct SharedSize { size @0 :UInt64; }
struct SharedOk {}
