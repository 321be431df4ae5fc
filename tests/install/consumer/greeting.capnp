@0xe3f1c2a7b9d04a51;
struct Greet { whom @0 :Text; }
struct Greeting { text @0 :Text; }
