// A small line server for the `--tcplisten` tests: accepts CONNECTIONS connections, one after
// the other, on the listening socket at descriptor FD (handed over by wasic), and answers every
// line a client sends with "reply N: <line>" (N counting all requests). A client ends its
// connection by closing its side. Uses wasi-libc's accept/recv/send/shutdown.
#include "common.h"

#include <sys/socket.h>
#include <unistd.h>

static void send_all(int c, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(c, p, n, 0);
        MUST(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    MUST(argc == 3);
    int lfd = atoi(argv[1]), connections = atoi(argv[2]);
    __wasi_fdstat_t st;
    MUST(__wasi_fd_fdstat_get((__wasi_fd_t)lfd, &st) == 0);
    MUST(st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM);
    int requests = 0;
    for (int i = 0; i < connections; i++) {
        int c = accept(lfd, NULL, NULL);
        MUST(c >= 0);
        static char buf[4096];
        size_t have = 0;
        for (;;) {
            MUST(have < sizeof buf);
            ssize_t r = recv(c, buf + have, sizeof buf - have, 0);
            MUST(r >= 0);
            if (r == 0) break;
            have += (size_t)r;
            char *start = buf, *nl;
            while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
                char reply[4200];
                int n = snprintf(reply, sizeof reply, "reply %d: %.*s\n", requests++,
                                 (int)(nl - start), start);
                send_all(c, reply, (size_t)n);
                start = nl + 1;
            }
            have -= (size_t)(start - buf);
            memmove(buf, start, have);
        }
        MUST(shutdown(c, SHUT_RDWR) == 0);
        MUST(close(c) == 0);
    }
    printf("served %d connections, %d requests\n", connections, requests);
    return 0;
}
