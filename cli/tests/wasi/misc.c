// Test program for everything that is not the file system: arguments, environment, clocks,
// randomness, sched_yield, poll_oneoff, proc_exit/proc_raise, traps, sockets. The first
// argument selects the scenario; the Rust tests check the exact output and exit status.
#include "common.h"

#include <unistd.h>

// proc_raise is not declared by every wasi-libc: import it directly.
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
int32_t raw_proc_raise(int32_t sig);

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_args(void) {
    __wasi_size_t argc, size;
    REPORT("args_sizes_get", __wasi_args_sizes_get(&argc, &size));
    char **argv = calloc(argc + 1, sizeof(char *));
    char *buf = malloc(size);
    REPORT("args_get", __wasi_args_get((uint8_t **)argv, (uint8_t *)buf));
    printf("argc=%u size=%u\n", (unsigned)argc, (unsigned)size);
    for (__wasi_size_t i = 0; i < argc; i++) printf("argv[%u]=[%s]\n", (unsigned)i, argv[i]);
    return 0;
}

static int do_env(void) {
    __wasi_size_t n, size;
    REPORT("environ_sizes_get", __wasi_environ_sizes_get(&n, &size));
    char **env = calloc(n + 1, sizeof(char *));
    char *buf = malloc(size);
    REPORT("environ_get", __wasi_environ_get((uint8_t **)env, (uint8_t *)buf));
    qsort(env, n, sizeof(char *), cmp_str);
    printf("count=%u\n", (unsigned)n);
    for (__wasi_size_t i = 0; i < n; i++) printf("%s\n", env[i]);
    return 0;
}

static int do_clocks(void) {
    __wasi_timestamp_t res, t1, t2;
    __wasi_clockid_t ids[] = {__WASI_CLOCKID_REALTIME, __WASI_CLOCKID_MONOTONIC,
                              __WASI_CLOCKID_PROCESS_CPUTIME_ID, __WASI_CLOCKID_THREAD_CPUTIME_ID};
    for (int i = 0; i < 4; i++) {
        __wasi_errno_t e = __wasi_clock_res_get(ids[i], &res);
        printf("clock_res_get(%d): %s %s\n", (int)ids[i], errname(e),
               e == 0 && res > 0 && res <= 1000000000ull ? "plausible" : "IMPLAUSIBLE");
    }
    REPORT("clock_res_get(99)", __wasi_clock_res_get(99, &res));
    REPORT("clock_time_get(realtime)", __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t1));
    printf("realtime_s=%llu\n", (unsigned long long)(t1 / 1000000000ull));
    REPORT("clock_time_get(monotonic)", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
    for (volatile int i = 0; i < 100000; i++) {
    }
    REPORT("clock_time_get(monotonic)", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2));
    printf("monotonic non-decreasing: %s\n", t2 >= t1 ? "yes" : "NO");
    REPORT("clock_time_get(99)", __wasi_clock_time_get(99, 1, &t1));
    return 0;
}

static int do_random(void) {
    uint8_t a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    REPORT("random_get", __wasi_random_get(a, sizeof a));
    REPORT("random_get", __wasi_random_get(b, sizeof b));
    REPORT("random_get(len 0)", __wasi_random_get(a, 0));
    int zero = 1;
    for (size_t i = 0; i < sizeof a; i++) zero &= a[i] == 0;
    printf("random: %s\n", !zero && memcmp(a, b, sizeof a) != 0 ? "distinct nonzero" : "NOT RANDOM");
    static uint8_t big[1 << 20];
    REPORT("random_get(1 MiB)", __wasi_random_get(big, sizeof big));
    return 0;
}

static __wasi_timestamp_t now_mono(void) {
    __wasi_timestamp_t t;
    MUST(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) == 0);
    return t;
}

static int do_poll(void) {
    __wasi_subscription_t subs[2];
    __wasi_event_t evs[2];
    __wasi_size_t n = 0;

    // A relative 50 ms sleep.
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 42;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 50 * 1000000ull;
    __wasi_timestamp_t t0 = now_mono();
    REPORT("poll_oneoff(clock 50ms)", __wasi_poll_oneoff(subs, evs, 1, &n));
    __wasi_timestamp_t dt = now_mono() - t0;
    printf("events=%u userdata=%llu error=%d type=%d slept>=50ms: %s\n", (unsigned)n,
           (unsigned long long)evs[0].userdata, evs[0].error, evs[0].type,
           dt >= 50 * 1000000ull ? "yes" : "NO");

    // An absolute realtime deadline in the past fires at once.
    __wasi_timestamp_t rt;
    MUST(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt) == 0);
    subs[0].userdata = 43;
    subs[0].u.u.clock.id = __WASI_CLOCKID_REALTIME;
    subs[0].u.u.clock.timeout = rt - 1000000000ull;
    subs[0].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    REPORT("poll_oneoff(abstime past)", __wasi_poll_oneoff(subs, evs, 1, &n));
    printf("events=%u userdata=%llu\n", (unsigned)n, (unsigned long long)evs[0].userdata);

    // A 10 s clock and stdout (a pipe, writable): only the stdout event comes, at once.
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 10 * 1000000000ull;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    subs[1].u.u.fd_write.file_descriptor = 1;
    t0 = now_mono();
    REPORT("poll_oneoff(clock 10s + stdout writable)", __wasi_poll_oneoff(subs, evs, 2, &n));
    dt = now_mono() - t0;
    printf("events=%u userdata=%llu type=%d error=%d quick: %s\n", (unsigned)n,
           (unsigned long long)evs[0].userdata, evs[0].type, evs[0].error,
           dt < 5 * 1000000000ull ? "yes" : "NO");

    // No subscriptions; an unknown descriptor.
    REPORT("poll_oneoff(0 subscriptions)", __wasi_poll_oneoff(subs, evs, 0, &n));
    subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[0].u.u.fd_read.file_descriptor = 77;
    REPORT("poll_oneoff(fd 77)", __wasi_poll_oneoff(subs, evs, 1, &n));

    // libc's sleep goes through poll_oneoff too.
    t0 = now_mono();
    usleep(20000);
    printf("usleep(20ms) slept>=20ms: %s\n", now_mono() - t0 >= 20 * 1000000ull ? "yes" : "NO");
    return 0;
}

static int do_sock_nonsocket(void) {
    __wasi_fd_t newfd;
    char buf[8];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
    __wasi_size_t n;
    __wasi_roflags_t ro;
    int fds[] = {1, 99};
    for (int i = 0; i < 2; i++) {
        int fd = fds[i];
        printf("fd %d: sock_accept: %s\n", fd, errname(__wasi_sock_accept(fd, 0, &newfd)));
        printf("fd %d: sock_recv: %s\n", fd, errname(__wasi_sock_recv(fd, &iov, 1, 0, &n, &ro)));
        printf("fd %d: sock_send: %s\n", fd, errname(__wasi_sock_send(fd, &ciov, 1, 0, &n)));
        printf("fd %d: sock_shutdown: %s\n", fd,
               errname(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR)));
    }
    return 0;
}

// stdin and stderr are one end of a connected stream socket.
static int do_sock_pair(void) {
    char buf[64];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
    __wasi_size_t n = 0;
    __wasi_roflags_t ro = 0;
    REPORT("sock_recv(peek)", __wasi_sock_recv(0, &iov, 1, __WASI_RIFLAGS_RECV_PEEK, &n, &ro));
    buf[n] = 0;
    printf("peeked %u bytes: %s\n", (unsigned)n, buf);
    REPORT("sock_recv", __wasi_sock_recv(0, &iov, 1, 0, &n, &ro));
    buf[n] = 0;
    printf("received %u bytes: %s roflags=%d\n", (unsigned)n, buf, ro);
    __wasi_ciovec_t ciov[2] = {{(const uint8_t *)"po", 2}, {(const uint8_t *)"ng", 2}};
    REPORT("sock_send", __wasi_sock_send(2, ciov, 2, 0, &n));
    printf("sent %u bytes\n", (unsigned)n);
    REPORT("sock_shutdown(wr)", __wasi_sock_shutdown(2, __WASI_SDFLAGS_WR));
    REPORT("sock_shutdown(bad how)", __wasi_sock_shutdown(0, 77));
    REPORT("sock_send on stdin (no write right)", __wasi_sock_send(0, ciov, 1, 0, &n));
    __wasi_fd_t newfd;
    REPORT("sock_accept on a connected socket", __wasi_sock_accept(0, 0, &newfd));
    return 0;
}

// stdin is a listening TCP socket (as with wasmtime's --listenfd).
static int do_sock_accept(void) {
    __wasi_fdstat_t st;
    REPORT("fd_fdstat_get(0)", __wasi_fd_fdstat_get(0, &st));
    printf("stdin filetype=%d (socket stream=%d)\n", st.fs_filetype, __WASI_FILETYPE_SOCKET_STREAM);
    __wasi_fd_t c;
    __wasi_errno_t e = __wasi_sock_accept(0, 0, &c);
    REPORT("sock_accept", e);
    if (e) return 1;
    char buf[64];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
    __wasi_size_t n = 0;
    __wasi_roflags_t ro;
    REPORT("sock_recv", __wasi_sock_recv(c, &iov, 1, __WASI_RIFLAGS_RECV_WAITALL, &n, &ro));
    buf[n] = 0;
    printf("received: %s\n", buf);
    __wasi_ciovec_t ciov = {(const uint8_t *)"bye", 3};
    REPORT("sock_send", __wasi_sock_send(c, &ciov, 1, 0, &n));
    REPORT("sock_shutdown(rd|wr)", __wasi_sock_shutdown(c, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR));
    REPORT("fd_close", __wasi_fd_close(c));
    return 0;
}

static int do_stdin(void) {
    static char buf[1 << 16];
    size_t total = 0;
    for (;;) {
        __wasi_iovec_t iov = {(uint8_t *)buf + total, sizeof buf - total};
        __wasi_size_t n;
        __wasi_errno_t e = __wasi_fd_read(0, &iov, 1, &n);
        if (e) {
            REPORT("fd_read", e);
            return 1;
        }
        if (n == 0) break;
        total += n;
    }
    printf("read %zu bytes from stdin: %.*s", total, (int)total, buf);
    return 0;
}

static int do_trap(int lines, int kind) {
    // Written through libc's buffer, flushed before the trap: all of it must come out.
    for (int i = 0; i < lines; i++) printf("line %d of output before the trap\n", i);
    fflush(stdout);
    if (kind == 0) __builtin_trap();
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)0xFFFFFFF0u;
    printf("loaded %u\n", *p);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: misc SCENARIO\n");
        return 2;
    }
    const char *s = argv[1];
    if (!strcmp(s, "args")) return do_args();
    if (!strcmp(s, "env")) return do_env();
    if (!strcmp(s, "clocks")) return do_clocks();
    if (!strcmp(s, "random")) return do_random();
    if (!strcmp(s, "sched_yield")) {
        REPORT("sched_yield", __wasi_sched_yield());
        return 0;
    }
    if (!strcmp(s, "poll")) return do_poll();
    if (!strcmp(s, "proc_raise")) {
        printf("proc_raise(SIGTERM): %s\n", errname(raw_proc_raise(15 /* SIGTERM */)));
        printf("still running\n");
        return 0;
    }
    if (!strcmp(s, "sock-nonsocket")) return do_sock_nonsocket();
    if (!strcmp(s, "sock-pair")) return do_sock_pair();
    if (!strcmp(s, "sock-accept")) return do_sock_accept();
    if (!strcmp(s, "stdin")) return do_stdin();
    if (!strcmp(s, "exit") && argc > 2) {
        printf("exiting with %s\n", argv[2]);
        fflush(stdout);
        __wasi_proc_exit((__wasi_exitcode_t)strtoul(argv[2], 0, 10));
    }
    if (!strcmp(s, "return")) {
        printf("returning from main\n");
        return 0;
    }
    if (!strcmp(s, "trap")) return do_trap(argc > 2 ? atoi(argv[2]) : 3, 0);
    if (!strcmp(s, "oob")) return do_trap(argc > 2 ? atoi(argv[2]) : 3, 1);
    printf("unknown scenario %s\n", s);
    return 2;
}
