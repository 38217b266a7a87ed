// A WASI reactor for the library tests: state that persists between calls, a trap on demand,
// floating point, multi-argument exports, and WASI output from inside an export.
#include <stdint.h>
#include <stdio.h>

static int32_t counter = 100;

// Runs once from _initialize (crt1-reactor.o calls the constructors).
__attribute__((constructor)) static void init(void) { counter = 0; }

__attribute__((export_name("add"))) int32_t add(int32_t a, int32_t b) { return a + b + counter; }
__attribute__((export_name("bump"))) void bump(void) { counter++; }
__attribute__((export_name("get"))) int64_t get(void) { return (int64_t)counter * 1000000000LL; }
__attribute__((export_name("boom"))) int32_t boom(int32_t x) {
    if (x) __builtin_trap();
    return 1;
}
__attribute__((export_name("half"))) double half(double x) { return x / 2; }
__attribute__((export_name("greet"))) void greet(void) {
    printf("hello from the reactor\n");
    fflush(stdout);
}
