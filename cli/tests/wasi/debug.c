/* A program to debug (cli/tests/debugging.rs): built with -g, it is run under gdb, which must
 * stop at breakpoints set by function name and by file:line and show wasm frames with their
 * source lines. `depth` recurses, so wasic never inlines it; the line numbers are in the test. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

__attribute__((noinline)) int depth(int n, int *out) {
    if (n == 0) {
        *out = 42; /* line 10: faults when out is not writable */
        return 0;
    }
    return depth(n - 1, out) + 1; /* line 13 */
}

int main(int argc, char **argv) {
    int value = 0;
    int levels = depth(3, &value); /* line 18 */
    printf("levels %d value %d\n", levels, value);
    if (argc > 1) {
        depth(2, (int *)(uintptr_t)strtoul(argv[1], 0, 0)); /* line 21 */
    }
    return 0;
}
