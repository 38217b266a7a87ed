// An exception that nobody catches, built with the WebAssembly exception-handling proposal
// (-fwasm-exceptions; see BUILD.md next to this file for the commands and what wasmtime prints).
//
// With Wasm EH there is no two-phase unwinding: libc++abi's __cxa_throw executes the wasm
// `throw` instruction straight away, every frame's cleanup (the Guard destructors below) runs on
// the way out, and the exception leaves `_start` as an uncaught wasm exception: the embedder
// reports it like a trap. (A native build instead calls std::terminate before unwinding, so no
// destructor runs there and it dies of SIGABRT: the outputs differ on purpose.)
//
// stdout is made line-buffered so that the lines printed before the exception escapes are not
// lost in a buffer that is never flushed.

#include <cstdio>
#include <string>

struct UncaughtError {
    int code;
    std::string message;
};

struct Guard {
    int level;
    ~Guard() { std::printf("~Guard(%d)\n", level); }
};

static volatile int opaque_zero = 0;

__attribute__((noinline)) static int descend(int level) {
    Guard g{level};
    if (level == 3 + opaque_zero) {
        std::printf("throwing at level %d\n", level);
        throw UncaughtError{77, "nobody catches this exception"};
    }
    return descend(level + 1) + 1;  // not a tail call: the Guard lives across it
}

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("start\n");
    int r = descend(1);
    std::printf("not reached %d\n", r);
    return 0;
}
