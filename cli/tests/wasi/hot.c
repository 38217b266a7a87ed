/* A program that spends its time in one named C function, for the profiler test
   (cli/tests/debugging.rs): `hot_loop` must be what `perf report` shows on top. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned hot_loop(unsigned n) {
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < n; i++) {
        h = (h ^ (i & 0xff)) * 16777619u;
        h ^= h >> 13;
    }
    return h;
}

int main(int argc, char **argv) {
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 1000;
    printf("hot %u\n", hot_loop(n));
    return 0;
}
