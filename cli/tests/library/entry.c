// A reactor whose exported entry point reads its own arguments from argv, as an image pipeline
// taking its file paths on the command line does (`wasic run --invoke run entry.wasm SCALE
// PATH...`), plus an export reporting what the instance was granted.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <wasi/api.h>

__attribute__((export_name("run"))) int32_t run(int32_t scale) {
    __wasi_size_t argc, size;
    if (__wasi_args_sizes_get(&argc, &size) != 0) return -1;
    char **argv = calloc(argc + 1, sizeof *argv);
    char *buf = malloc(size);
    if (__wasi_args_get((uint8_t **)argv, (uint8_t *)buf) != 0) return -1;
    for (__wasi_size_t i = 0; i < argc; i++) printf("argv[%u]=%s\n", (unsigned)i, argv[i]);
    fflush(stdout);
    return scale * (int32_t)argc;
}

// "fds=N env=M": open descriptors from 3 on, and environment variables.
__attribute__((export_name("grants"))) void grants(void) {
    int fds = 0;
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_fdstat_t st;
        fds += __wasi_fd_fdstat_get(fd, &st) == 0;
    }
    __wasi_size_t n, size;
    if (__wasi_environ_sizes_get(&n, &size) != 0) return;
    printf("fds=%d env=%u\n", fds, (unsigned)n);
    fflush(stdout);
}
