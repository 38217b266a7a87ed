//! wasic's compiler: validates a WebAssembly module and compiles it into one relocatable object.
