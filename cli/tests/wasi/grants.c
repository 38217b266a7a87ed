// Test program for grants: what the program was given (its descriptors, environment and
// arguments), reads, and every kind of change attempted beneath a directory (to prove that a
// read-only grant refuses them all). The first argument selects the scenario.
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Every open descriptor from 3 on: "fd N: dir NAME" for preopens, "fd N: socket", ...
static int do_fds(void) {
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_fdstat_t st;
        if (__wasi_fd_fdstat_get(fd, &st) != 0) continue;
        __wasi_prestat_t ps;
        if (st.fs_filetype == __WASI_FILETYPE_DIRECTORY && __wasi_fd_prestat_get(fd, &ps) == 0) {
            char name[256];
            MUST(ps.u.dir.pr_name_len < sizeof name);
            MUST(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len) == 0);
            name[ps.u.dir.pr_name_len] = 0;
            printf("fd %u: dir %s\n", (unsigned)fd, name);
        } else if (st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM) {
            printf("fd %u: socket\n", (unsigned)fd);
        } else {
            printf("fd %u: filetype %d\n", (unsigned)fd, st.fs_filetype);
        }
    }
    return 0;
}

static int do_env(void) {
    extern char **environ;
    int n = 0;
    while (environ[n]) n++;
    qsort(environ, (size_t)n, sizeof(char *), cmp_str);
    for (int i = 0; i < n; i++) printf("env %s\n", environ[i]);
    return 0;
}

static int do_read(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("open %s: %s\n", path, errname(errno));
        return 1;
    }
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    printf("read %s: %.*s\n", path, (int)n, buf);
    fclose(f);
    return 0;
}

// Opens `path` with `flags`, then writes through it: "label: OK" only if both succeed.
static void open_and_write(const char *label, const char *path, int flags) {
    errno = 0;
    int fd = open(path, flags);
    ssize_t w = fd >= 0 ? write(fd, "x", 1) : -1;
    printf("%s: %s\n", label, w == 1 ? "OK" : errname(errno));
    if (fd >= 0) close(fd);
}

// Beneath DIR (holding file.txt and an empty sub/): reads that must work, then every change.
static int do_try_writes(const char *dir) {
    char p[512], q[512];
#define PATH(buf, name) (snprintf(buf, sizeof buf, "%s/%s", dir, name), buf)
    // Reading and listing work.
    int fd = open(PATH(p, "file.txt"), O_RDONLY);
    char buf[64] = {0};
    printf("read file.txt: %s\n", fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 ? buf : errname(errno));
    DIR *d = opendir(dir);
    int entries = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) entries += e->d_name[0] != '.';
        closedir(d);
    }
    printf("list: %d entries\n", entries);
    struct stat sb;
    LIBC("stat", stat(PATH(p, "file.txt"), &sb));
    // Changes through the file opened for reading.
    LIBC("write through a read-only descriptor", write(fd, "x", 1));
    LIBC("ftruncate", ftruncate(fd, 0));
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    LIBC("futimens", futimens(fd, ts));
    if (fd >= 0) close(fd);
    // Changes by path.
    LIBC("create", open(PATH(p, "new.txt"), O_WRONLY | O_CREAT, 0644));
    open_and_write("open for writing, write", PATH(p, "file.txt"), O_WRONLY);
    open_and_write("open for appending, write", PATH(p, "file.txt"), O_WRONLY | O_APPEND);
    open_and_write("open read-write, write", PATH(p, "file.txt"), O_RDWR);
    LIBC("open with O_TRUNC", open(PATH(p, "file.txt"), O_RDONLY | O_TRUNC));
    LIBC("truncate", truncate(PATH(p, "file.txt"), 0));
    LIBC("utimensat", utimensat(AT_FDCWD, PATH(p, "file.txt"), ts, 0));
    LIBC("mkdir", mkdir(PATH(p, "newdir"), 0755));
    LIBC("unlink", unlink(PATH(p, "file.txt")));
    LIBC("rmdir", rmdir(PATH(p, "sub")));
    LIBC("rename", rename(PATH(p, "file.txt"), PATH(q, "renamed.txt")));
    LIBC("link", link(PATH(p, "file.txt"), PATH(q, "hard.txt")));
    LIBC("symlink", symlink("file.txt", PATH(p, "sym")));
    // Through a subdirectory opened beneath the grant: the rights are inherited.
    LIBC("create in sub", open(PATH(p, "sub/new.txt"), O_WRONLY | O_CREAT, 0644));
    int sub = open(PATH(p, "sub"), O_RDONLY | O_DIRECTORY);
    LIBC("create via sub's descriptor", openat(sub, "new.txt", O_WRONLY | O_CREAT, 0644));
    LIBC("mkdir via sub's descriptor", mkdirat(sub, "d", 0755));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return 2;
    const char *s = argv[1];
    if (!strcmp(s, "fds")) return do_fds();
    if (!strcmp(s, "env")) return do_env();
    if (!strcmp(s, "read") && argc > 2) return do_read(argv[2]);
    if (!strcmp(s, "try-writes") && argc > 2) return do_try_writes(argv[2]);
    printf("unknown scenario %s\n", s);
    return 2;
}
