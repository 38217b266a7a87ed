// Shared helpers of the C test programs of wasic's end-to-end tests: printing errno values by
// name (WASI numbering, which wasi-libc's errno uses too), checking calls, finding preopens.
#ifndef WASIC_TEST_COMMON_H
#define WASIC_TEST_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

__attribute__((unused)) static const char *errname(int e) {
    switch (e) {
    case 0: return "OK";
    case __WASI_ERRNO_ACCES: return "EACCES";
    case __WASI_ERRNO_AGAIN: return "EAGAIN";
    case __WASI_ERRNO_BADF: return "EBADF";
    case __WASI_ERRNO_EXIST: return "EEXIST";
    case __WASI_ERRNO_FAULT: return "EFAULT";
    case __WASI_ERRNO_ILSEQ: return "EILSEQ";
    case __WASI_ERRNO_INVAL: return "EINVAL";
    case __WASI_ERRNO_ISDIR: return "EISDIR";
    case __WASI_ERRNO_LOOP: return "ELOOP";
    case __WASI_ERRNO_NAMETOOLONG: return "ENAMETOOLONG";
    case __WASI_ERRNO_NOENT: return "ENOENT";
    case __WASI_ERRNO_NOSYS: return "ENOSYS";
    case __WASI_ERRNO_NOTDIR: return "ENOTDIR";
    case __WASI_ERRNO_NOTEMPTY: return "ENOTEMPTY";
    case __WASI_ERRNO_NOTSOCK: return "ENOTSOCK";
    case __WASI_ERRNO_NOTSUP: return "ENOTSUP";
    case __WASI_ERRNO_PERM: return "EPERM";
    case __WASI_ERRNO_SPIPE: return "ESPIPE";
    case __WASI_ERRNO_XDEV: return "EXDEV";
    case __WASI_ERRNO_NOTCAPABLE: return "ENOTCAPABLE";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
    }
    }
}

// Prints "label: OK" if `r` (a WASI errno) is 0, else "label: <ENAME>".
#define REPORT(label, r) printf("%s: %s\n", (label), errname(r))

// Checks a libc call returning -1 on error; prints "label: OK" or "label: <ENAME>".
#define LIBC(label, expr)                                                   \
    do {                                                                    \
        errno = 0;                                                          \
        long long r_ = (long long)(expr);                                   \
        printf("%s: %s\n", (label), r_ < 0 ? errname(errno) : "OK");       \
    } while (0)

// Aborts the program (status 99) when a setup step fails: such output is never expected.
#define MUST(cond)                                                          \
    do {                                                                    \
        if (!(cond)) {                                                      \
            printf("FAILED: %s (line %d, errno %s)\n", #cond, __LINE__,     \
                   errname(errno));                                         \
            fflush(stdout);                                                 \
            exit(99);                                                       \
        }                                                                   \
    } while (0)

// The descriptor of the preopened directory named `name`, or -1.
__attribute__((unused)) static int preopen_fd(const char *name) {
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
        char buf[256];
        if (ps.u.dir.pr_name_len >= sizeof buf) continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, ps.u.dir.pr_name_len) != 0) continue;
        buf[ps.u.dir.pr_name_len] = 0;
        if (strcmp(buf, name) == 0) return (int)fd;
    }
    return -1;
}

#endif
