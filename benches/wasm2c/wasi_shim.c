/* The WASI preview1 host for the wasm2c reference column of BENCHMARKS.md: just the imports
 * the benchmark programs (and the start-up hello world) use, plus the few every wasi-libc
 * command may reach (arguments, environment, clocks). wasm2c itself has no WASI.
 *
 * The same file is compiled with every program: `wasm2c PROG.wasm -n prog -o module.c` names
 * every module's symbols `Z_prog...`, and this file includes that program's `module.h` (found
 * with -I). Built by benches/src/lib.rs as
 *   gcc -O2 -I<dir of module.h> -I<wasm2c runtime> module.c wasi_shim.c wasm-rt-impl.c -lm
 * with wasm2c's default memory checks on 64-bit Linux: guard pages and a signal handler
 * (WASM_RT_MEMCHECK_SIGNAL_HANDLER=1), so the generated code has no explicit bounds checks.
 *
 * Every pointer a guest passes is checked against the memory's current size before use. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "module.h"
#include "wasm-rt-impl.h"

/* WASI errno values (wasi_snapshot_preview1). */
enum {
    WASI_ESUCCESS = 0,
    WASI_EBADF = 8,
    WASI_EFAULT = 21,
    WASI_EINVAL = 28,
    WASI_EIO = 29,
    WASI_ESPIPE = 70,
};

struct Z_wasi_snapshot_preview1_instance_t {
    wasm_rt_memory_t *memory; /* the module's exported `memory`, set before `_start` */
    int argc;
    char **argv;
};

/* The guest range [ptr, ptr + len) or NULL when it is not inside the memory. */
static uint8_t *guest(struct Z_wasi_snapshot_preview1_instance_t *w, uint32_t ptr, uint64_t len) {
    if ((uint64_t)ptr + len > w->memory->size) return NULL;
    return w->memory->data + ptr;
}

static int put_u32(struct Z_wasi_snapshot_preview1_instance_t *w, uint32_t ptr, uint32_t v) {
    uint8_t *p = guest(w, ptr, 4);
    if (!p) return 0;
    memcpy(p, &v, 4); /* wasm is little-endian, like x86-64 */
    return 1;
}

u32 Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd,
                                       u32 iovs, u32 iovs_len, u32 nwritten) {
    if (fd != 1 && fd != 2) return WASI_EBADF;
    uint8_t *list = guest(w, iovs, (uint64_t)iovs_len * 8);
    if (!list) return WASI_EFAULT;
    uint64_t total = 0;
    for (u32 i = 0; i < iovs_len; i++) {
        uint32_t ptr, len;
        memcpy(&ptr, list + 8 * i, 4);
        memcpy(&len, list + 8 * i + 4, 4);
        uint8_t *buf = guest(w, ptr, len);
        if (!buf) return WASI_EFAULT;
        while (len > 0) {
            ssize_t n = write((int)fd, buf, len);
            if (n < 0) {
                if (errno == EINTR) continue;
                return WASI_EIO;
            }
            buf += n;
            len -= (uint32_t)n;
            total += (uint64_t)n;
        }
    }
    return put_u32(w, nwritten, (uint32_t)total) ? WASI_ESUCCESS : WASI_EFAULT;
}

void Z_wasi_snapshot_preview1Z_proc_exit(struct Z_wasi_snapshot_preview1_instance_t *w, u32 code) {
    (void)w;
    exit((int)code);
}

/* fd_fdstat_get for the standard streams: the file type from fstat (wasi-libc uses it to pick
 * stdout's buffering), no flags, every right. Other descriptors do not exist here. */
u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd,
                                            u32 out) {
    if (fd > 2) return WASI_EBADF;
    struct stat st;
    if (fstat((int)fd, &st) != 0) return WASI_EBADF;
    uint8_t filetype = S_ISCHR(st.st_mode)    ? 2  /* character_device */
                       : S_ISREG(st.st_mode)  ? 4  /* regular_file */
                       : S_ISFIFO(st.st_mode) ? 6  /* socket_stream: what pipes look like */
                                              : 0; /* unknown */
    uint8_t *p = guest(w, out, 24);
    if (!p) return WASI_EFAULT;
    memset(p, 0, 24);
    p[0] = filetype;
    uint64_t rights = ~(uint64_t)0;
    memcpy(p + 8, &rights, 8);
    memcpy(p + 16, &rights, 8);
    return WASI_ESUCCESS;
}

/* The streams are not seekable and cannot be closed: the errors wasi-libc expects then. */
u32 Z_wasi_snapshot_preview1Z_fd_seek(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd,
                                      u64 offset, u32 whence, u32 out) {
    (void)w, (void)offset, (void)whence, (void)out;
    return fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
}

u32 Z_wasi_snapshot_preview1Z_fd_close(struct Z_wasi_snapshot_preview1_instance_t *w, u32 fd) {
    (void)w, (void)fd;
    return WASI_EBADF;
}

u32 Z_wasi_snapshot_preview1Z_args_sizes_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                             u32 argc_out, u32 size_out) {
    uint32_t size = 0;
    for (int i = 0; i < w->argc; i++) size += (uint32_t)strlen(w->argv[i]) + 1;
    return put_u32(w, argc_out, (uint32_t)w->argc) && put_u32(w, size_out, size) ? WASI_ESUCCESS
                                                                               : WASI_EFAULT;
}

u32 Z_wasi_snapshot_preview1Z_args_get(struct Z_wasi_snapshot_preview1_instance_t *w, u32 argv,
                                       u32 buf) {
    for (int i = 0; i < w->argc; i++) {
        uint32_t len = (uint32_t)strlen(w->argv[i]) + 1;
        uint8_t *dst = guest(w, buf, len);
        if (!dst || !put_u32(w, argv + 4 * (uint32_t)i, buf)) return WASI_EFAULT;
        memcpy(dst, w->argv[i], len);
        buf += len;
    }
    return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_environ_sizes_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                                u32 count_out, u32 size_out) {
    return put_u32(w, count_out, 0) && put_u32(w, size_out, 0) ? WASI_ESUCCESS : WASI_EFAULT;
}

u32 Z_wasi_snapshot_preview1Z_environ_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                          u32 environ, u32 buf) {
    (void)w, (void)environ, (void)buf;
    return WASI_ESUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_clock_time_get(struct Z_wasi_snapshot_preview1_instance_t *w,
                                             u32 id, u64 precision, u32 out) {
    (void)precision;
    static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                    CLOCK_THREAD_CPUTIME_ID};
    if (id >= sizeof ids / sizeof ids[0]) return WASI_EINVAL;
    struct timespec ts;
    if (clock_gettime(ids[id], &ts) != 0) return WASI_EINVAL;
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint8_t *p = guest(w, out, 8);
    if (!p) return WASI_EFAULT;
    memcpy(p, &ns, 8);
    return WASI_ESUCCESS;
}

int main(int argc, char **argv) {
    static Z_prog_instance_t instance;
    struct Z_wasi_snapshot_preview1_instance_t wasi = {NULL, argc, argv};
    wasm_rt_init();
    Z_prog_init_module();
    Z_prog_instantiate(&instance, &wasi);
    wasi.memory = Z_progZ_memory(&instance);
    wasm_rt_trap_t trap = (wasm_rt_trap_t)wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {
        fprintf(stderr, "wasm trap: %s\n", wasm_rt_strerror(trap));
        return 134;
    }
    Z_progZ__start(&instance);
    return 0;
}
