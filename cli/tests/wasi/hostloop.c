// Test program for `--timeout` while the guest is in host code: each scenario (first argument)
// blocks in, or loops on, one WASI call forever, so only the timeout can end it. The Rust tests
// (cli/tests/limits.rs) check that every one stops with the "interrupted" trap.
#include "common.h"

static char big[1 << 20];

// Blocks in fd_read on stdin, which the test makes a pipe that never gets data.
static int read_pipe(void) {
    __wasi_iovec_t iov = {(uint8_t *)big, sizeof big};
    __wasi_size_t n;
    for (;;) {
        __wasi_errno_t e = __wasi_fd_read(0, &iov, 1, &n);
        printf("fd_read returned: %s, %u bytes\n", errname(e), (unsigned)n);
        fflush(stdout);
    }
}

// Sleeps in poll_oneoff on a one-hour monotonic clock subscription.
static int sleep_clock(void) {
    __wasi_subscription_t sub;
    __wasi_event_t ev;
    __wasi_size_t n;
    memset(&sub, 0, sizeof sub);
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 3600ull * 1000000000ull;
    for (;;) {
        __wasi_errno_t e = __wasi_poll_oneoff(&sub, &ev, 1, &n);
        printf("poll_oneoff(clock) returned: %s\n", errname(e));
        fflush(stdout);
    }
}

// Waits in poll_oneoff for stdin (a pipe that never gets data) to become readable.
static int poll_pipe(void) {
    __wasi_subscription_t sub;
    __wasi_event_t ev;
    __wasi_size_t n;
    memset(&sub, 0, sizeof sub);
    sub.u.tag = __WASI_EVENTTYPE_FD_READ;
    sub.u.u.fd_read.file_descriptor = 0;
    for (;;) {
        __wasi_errno_t e = __wasi_poll_oneoff(&sub, &ev, 1, &n);
        printf("poll_oneoff(stdin) returned: %s, %u events\n", errname(e), (unsigned)n);
        fflush(stdout);
    }
}

static int random_loop(void) {
    for (;;) MUST(__wasi_random_get((uint8_t *)big, sizeof big) == 0);
}

static int yield_loop(void) {
    for (;;) MUST(__wasi_sched_yield() == 0);
}

// Writes 1 GiB per call (1024 iovecs of the same 1 MiB, the most one call takes) to stdout,
// which the test points at /dev/null: nearly all the time is spent in the host.
static int write_loop(void) {
    static __wasi_ciovec_t iov[1024];
    for (int i = 0; i < 1024; i++) iov[i] = (__wasi_ciovec_t){(const uint8_t *)big, sizeof big};
    __wasi_size_t n;
    for (;;) MUST(__wasi_fd_write(1, iov, 1024, &n) == 0);
}

// Reads the preopened directory "/dir" from its start (cookie 0) over and over.
static int readdir_loop(void) {
    int fd = preopen_fd("/dir");
    MUST(fd >= 0);
    __wasi_size_t used;
    for (;;) MUST(__wasi_fd_readdir(fd, (uint8_t *)big, sizeof big, 0, &used) == 0);
}

// Opens the FIFO "/dir/fifo" for reading: blocks until a writer comes, and none does.
static int open_fifo(void) {
    int dir = preopen_fd("/dir");
    MUST(dir >= 0);
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(dir, 0, "fifo", 0, __WASI_RIGHTS_FD_READ,
                                        __WASI_RIGHTS_FD_READ, 0, &fd);
    printf("path_open returned: %s\n", errname(e));
    return 0;
}

// Waits in sock_accept on descriptor 3, a listener (`--tcplisten`) no client ever connects to.
static int accept_idle(void) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_sock_accept(3, 0, &fd);
    printf("sock_accept returned: %s\n", errname(e));
    return 0;
}

int main(int argc, char **argv) {
    const char *s = argc > 1 ? argv[1] : "";
    if (!strcmp(s, "read-pipe")) return read_pipe();
    if (!strcmp(s, "sleep")) return sleep_clock();
    if (!strcmp(s, "poll-pipe")) return poll_pipe();
    if (!strcmp(s, "random")) return random_loop();
    if (!strcmp(s, "yield")) return yield_loop();
    if (!strcmp(s, "write")) return write_loop();
    if (!strcmp(s, "readdir")) return readdir_loop();
    if (!strcmp(s, "open-fifo")) return open_fifo();
    if (!strcmp(s, "accept")) return accept_idle();
    printf("unknown scenario %s\n", s);
    return 2;
}
