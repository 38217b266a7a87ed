// A WASI command used through the library API: `_start` returns its proc_exit code to the host.
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
__attribute__((export_name("twice"))) int32_t twice(int32_t x) { return 2 * x; }
int main(int argc, char **argv) {
    printf("command main, argc=%d\n", argc);
    exit(42);
}
