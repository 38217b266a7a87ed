// Test program for WASI behaviours programs rely on as wasmtime gives them: opening a
// directory for writing (EISDIR), symlinks pointing out of the grant (refused), descriptors
// opened without rights (they work), stdio as a stream whatever the host descriptor is,
// isatty and line buffering on a terminal, and listing a large directory quickly. The first
// argument selects the scenario; tests/wasi_semantics.rs checks the output and the host.
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define R_READ __WASI_RIGHTS_FD_READ
#define R_WRITE __WASI_RIGHTS_FD_WRITE

// Like REPORT, on stderr (for scenarios whose stdout is the file under test).
#define EREPORT(label, r) fprintf(stderr, "%s: %s\n", (label), errname(r))
#define ELIBC(label, expr)                                                  \
    do {                                                                    \
        errno = 0;                                                          \
        long long r_ = (long long)(expr);                                   \
        fprintf(stderr, "%s: %s\n", (label), r_ < 0 ? errname(errno) : "OK"); \
    } while (0)

static __wasi_fd_t root;

static void find_root(void) {
    int fd = preopen_fd("/sandbox");
    MUST(fd >= 0);
    root = (__wasi_fd_t)fd;
}

// 1. Opening a directory for writing is EISDIR, with or without O_DIRECTORY.
static int scenario_isdir(void) {
    find_root();
    __wasi_fd_t fd;
    REPORT("path_open(., directory, read|write)",
           __wasi_path_open(root, 0, ".", __WASI_OFLAGS_DIRECTORY, R_READ | R_WRITE, 0, 0, &fd));
    REPORT("path_open(., write)", __wasi_path_open(root, 0, ".", 0, R_WRITE, 0, 0, &fd));
    REPORT("path_open(subdir, directory, write)",
           __wasi_path_open(root, 0, "subdir", __WASI_OFLAGS_DIRECTORY, R_WRITE, 0, 0, &fd));
    REPORT("path_open(subdir, read|write)",
           __wasi_path_open(root, 0, "subdir", 0, R_READ | R_WRITE, 0, 0, &fd));
    REPORT("path_open(subdir, creat)",
           __wasi_path_open(root, 0, "subdir", __WASI_OFLAGS_CREAT, R_WRITE, 0, 0, &fd));
    REPORT("path_open(subdir, directory, read)",
           __wasi_path_open(root, 0, "subdir", __WASI_OFLAGS_DIRECTORY,
                            R_READ | __WASI_RIGHTS_FD_READDIR, 0, 0, &fd));
    LIBC("open(/sandbox/subdir, O_RDWR)", open("/sandbox/subdir", O_RDWR));
    LIBC("open(/sandbox/subdir, O_WRONLY|O_DIRECTORY)",
         open("/sandbox/subdir", O_WRONLY | O_DIRECTORY));
    LIBC("open(/sandbox, O_RDWR|O_DIRECTORY)", open("/sandbox", O_RDWR | O_DIRECTORY));
    LIBC("open(/sandbox/subdir, O_RDONLY|O_DIRECTORY)",
         open("/sandbox/subdir", O_RDONLY | O_DIRECTORY));
    DIR *d = opendir("/sandbox/subdir");
    int n = 0;
    if (d) {
        while (readdir(d)) n++;
        closedir(d);
    }
    printf("opendir(/sandbox/subdir): %s, %d entries\n", d ? "OK" : errname(errno), n);
    return 0;
}

// 2. Symlinks whose target is absolute or climbs above the grant are refused.
static int scenario_symlinks(void) {
    find_root();
    REPORT("path_symlink(/ <- link)", __wasi_path_symlink("/", root, "link"));
    REPORT("path_symlink(/etc/passwd <- abs)", __wasi_path_symlink("/etc/passwd", root, "abs"));
    REPORT("path_symlink(.. <- up)", __wasi_path_symlink("..", root, "up"));
    REPORT("path_symlink(../outside <- out)", __wasi_path_symlink("../outside", root, "out"));
    REPORT("path_symlink(subdir/../../outside <- sneaky)",
           __wasi_path_symlink("subdir/../../outside", root, "sneaky"));
    REPORT("path_symlink(../../outside <- subdir/deep)",
           __wasi_path_symlink("../../outside", root, "subdir/deep"));
    LIBC("symlink(/, /sandbox/libc_link)", symlink("/", "/sandbox/libc_link"));
    LIBC("symlink(../.., /sandbox/subdir/libc_up)", symlink("../..", "/sandbox/subdir/libc_up"));
    // Inside the grant is fine, from any depth.
    REPORT("path_symlink(file.txt <- ok)", __wasi_path_symlink("file.txt", root, "ok"));
    REPORT("path_symlink(../file.txt <- subdir/ok2)",
           __wasi_path_symlink("../file.txt", root, "subdir/ok2"));
    LIBC("symlink(.., /sandbox/subdir/libc_ok)", symlink("..", "/sandbox/subdir/libc_ok"));
    char buf[64] = {0};
    FILE *f = fopen("/sandbox/subdir/ok2", "r");
    MUST(f != NULL && fgets(buf, sizeof buf, f) != NULL);
    fclose(f);
    printf("read through subdir/ok2: %s", buf);
    return 0;
}

// 4. A directory opened with no rights (and no inheriting rights) works as on wasmtime.
static int scenario_norights(void) {
    find_root();
    __wasi_fd_t dir, f, sub;
    REPORT("path_open(., directory, rights 0)",
           __wasi_path_open(root, 0, ".", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &dir));
    __wasi_fdstat_t st;
    REPORT("fd_fdstat_get(dir)", __wasi_fd_fdstat_get(dir, &st));
    printf("filetype=%d create_file=%d readdir=%d inheriting_write=%d\n", st.fs_filetype,
           !!(st.fs_rights_base & __WASI_RIGHTS_PATH_CREATE_FILE),
           !!(st.fs_rights_base & __WASI_RIGHTS_FD_READDIR),
           !!(st.fs_rights_inheriting & R_WRITE));
    REPORT("path_open(created.txt, creat, rights 0)",
           __wasi_path_open(dir, 0, "created.txt", __WASI_OFLAGS_CREAT, 0, 0, 0, &f));
    __wasi_ciovec_t w = {(const uint8_t *)"written without rights\n", 23};
    __wasi_size_t n;
    REPORT("fd_write", __wasi_fd_write(f, &w, 1, &n));
    REPORT("fd_close", __wasi_fd_close(f));
    REPORT("path_open(created.txt, read)",
           __wasi_path_open(dir, 0, "created.txt", 0, R_READ, 0, 0, &f));
    char buf[64] = {0};
    __wasi_iovec_t r = {(uint8_t *)buf, sizeof buf - 1};
    REPORT("fd_read", __wasi_fd_read(f, &r, 1, &n));
    printf("read: %s", buf);
    REPORT("fd_close", __wasi_fd_close(f));
    REPORT("path_create_directory(newdir)", __wasi_path_create_directory(dir, "newdir"));
    REPORT("path_open(newdir, directory, rights 0)",
           __wasi_path_open(dir, 0, "newdir", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &sub));
    REPORT("path_open(newdir/inner.txt, creat|trunc, rights 0)",
           __wasi_path_open(sub, 0, "inner.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0, 0,
                            0, &f));
    REPORT("fd_write", __wasi_fd_write(f, &w, 1, &n));
    REPORT("fd_close", __wasi_fd_close(f));
    uint8_t dbuf[4096];
    __wasi_size_t used;
    REPORT("fd_readdir(newdir)", __wasi_fd_readdir(sub, dbuf, sizeof dbuf, 0, &used));
    int entries = 0;
    for (size_t at = 0; at + sizeof(__wasi_dirent_t) <= used;) {
        __wasi_dirent_t de;
        memcpy(&de, dbuf + at, sizeof de);
        at += sizeof de + de.d_namlen;
        entries++;
    }
    printf("newdir entries=%d\n", entries);
    REPORT("path_rename(created.txt -> left.txt)",
           __wasi_path_rename(dir, "created.txt", dir, "left.txt"));
    REPORT("path_unlink_file(newdir/inner.txt)", __wasi_path_unlink_file(sub, "inner.txt"));
    REPORT("path_remove_directory(newdir)", __wasi_path_remove_directory(dir, "newdir"));
    REPORT("path_symlink(left.txt <- link)", __wasi_path_symlink("left.txt", dir, "link"));
    REPORT("path_unlink_file(link)", __wasi_path_unlink_file(dir, "link"));
    return 0;
}

// 7. Stdout appended to a file, stdin a file: streams, nothing else. Reports on stderr.
static int scenario_stdio_files(int append) {
    __wasi_fdstat_t st;
    EREPORT("fd_fdstat_get(1)", __wasi_fd_fdstat_get(1, &st));
    fprintf(stderr, "fd 1: filetype=%d write=%d seek=%d tell=%d set_size=%d\n", st.fs_filetype,
            !!(st.fs_rights_base & R_WRITE), !!(st.fs_rights_base & __WASI_RIGHTS_FD_SEEK),
            !!(st.fs_rights_base & __WASI_RIGHTS_FD_TELL),
            !!(st.fs_rights_base & __WASI_RIGHTS_FD_FILESTAT_SET_SIZE));
    EREPORT("fd_filestat_set_size(1, 0)", __wasi_fd_filestat_set_size(1, 0));
    EREPORT("fd_allocate(1, 0, 4096)", __wasi_fd_allocate(1, 0, 4096));
    __wasi_ciovec_t x = {(const uint8_t *)"X", 1};
    __wasi_size_t n;
    EREPORT("fd_pwrite(1, at 0)", __wasi_fd_pwrite(1, &x, 1, 0, &n));
    const __wasi_timestamp_t S = 1000000000ull;
    EREPORT("fd_filestat_set_times(1, now)",
            __wasi_fd_filestat_set_times(1, 0, 0, __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW));
    EREPORT("fd_filestat_set_times(1, 1s)",
            __wasi_fd_filestat_set_times(1, S, S, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    __wasi_filesize_t pos;
    EREPORT("fd_seek(1, 0, set)", __wasi_fd_seek(1, 0, __WASI_WHENCE_SET, &pos));
    EREPORT("fd_seek(1, 0, cur)", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos));
    EREPORT("fd_tell(1)", __wasi_fd_tell(1, &pos));
    EREPORT("fd_advise(1)", __wasi_fd_advise(1, 0, 0, __WASI_ADVICE_DONTNEED));
    EREPORT("fd_datasync(1)", __wasi_fd_datasync(1));
    EREPORT("fd_sync(1)", __wasi_fd_sync(1));
    EREPORT("fd_fdstat_set_flags(1, 0)", __wasi_fd_fdstat_set_flags(1, 0));
    char buf[64] = {0};
    __wasi_iovec_t r = {(uint8_t *)buf, sizeof buf - 1};
    EREPORT("fd_read(1)", __wasi_fd_read(1, &r, 1, &n));
    EREPORT("fd_pread(1)", __wasi_fd_pread(1, &r, 1, 0, &n));
    ELIBC("ftruncate(1, 0)", ftruncate(1, 0));
    ELIBC("lseek(1, 0, SEEK_SET)", lseek(1, 0, SEEK_SET));
    ELIBC("pwrite(1, at 0)", pwrite(1, "Y", 1, 0));
    ELIBC("futimens(1, now)", futimens(1, NULL));
    // Stdin is a file with content: read it, nothing else.
    EREPORT("fd_fdstat_get(0)", __wasi_fd_fdstat_get(0, &st));
    fprintf(stderr, "fd 0: filetype=%d read=%d write=%d seek=%d\n", st.fs_filetype,
            !!(st.fs_rights_base & R_READ), !!(st.fs_rights_base & R_WRITE),
            !!(st.fs_rights_base & __WASI_RIGHTS_FD_SEEK));
    EREPORT("fd_write(0)", __wasi_fd_write(0, &x, 1, &n));
    EREPORT("fd_filestat_set_size(0, 0)", __wasi_fd_filestat_set_size(0, 0));
    EREPORT("fd_seek(0, 0, end)", __wasi_fd_seek(0, 0, __WASI_WHENCE_END, &pos));
    EREPORT("fd_pread(0)", __wasi_fd_pread(0, &r, 1, 0, &n));
    EREPORT("fd_read(0)", __wasi_fd_read(0, &r, 1, &n));
    fprintf(stderr, "stdin: %.*s\n", (int)n, buf);
    if (append) {
        __wasi_ciovec_t line = {(const uint8_t *)"appended\n", 9};
        EREPORT("fd_write(1)", __wasi_fd_write(1, &line, 1, &n));
    }
    return 0;
}

// 7. A directory on stdin is no preopen: nothing can be done through it.
static int scenario_stdin_dir(void) {
    __wasi_fdstat_t st;
    REPORT("fd_fdstat_get(0)", __wasi_fd_fdstat_get(0, &st));
    const __wasi_rights_t path_rights =
        __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |
        __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN |
        __WASI_RIGHTS_PATH_READLINK | __WASI_RIGHTS_PATH_RENAME_SOURCE |
        __WASI_RIGHTS_PATH_RENAME_TARGET | __WASI_RIGHTS_PATH_FILESTAT_GET |
        __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES |
        __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY |
        __WASI_RIGHTS_PATH_UNLINK_FILE;
    printf("fd 0: filetype=%d path rights=%d readdir=%d\n", st.fs_filetype,
           !!(st.fs_rights_base & path_rights), !!(st.fs_rights_base & __WASI_RIGHTS_FD_READDIR));
    __wasi_prestat_t ps;
    REPORT("fd_prestat_get(0)", __wasi_fd_prestat_get(0, &ps));
    __wasi_fd_t fd;
    REPORT("path_open(0, new.txt, creat)",
           __wasi_path_open(0, 0, "new.txt", __WASI_OFLAGS_CREAT, R_READ | R_WRITE, 0, 0, &fd));
    REPORT("path_open(0, existing.txt, read)",
           __wasi_path_open(0, 0, "existing.txt", 0, R_READ, 0, 0, &fd));
    REPORT("path_open(0, ., directory)",
           __wasi_path_open(0, 0, ".", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd));
    REPORT("path_create_directory(0, newdir)", __wasi_path_create_directory(0, "newdir"));
    REPORT("path_unlink_file(0, existing.txt)", __wasi_path_unlink_file(0, "existing.txt"));
    REPORT("path_remove_directory(0, sub)", __wasi_path_remove_directory(0, "sub"));
    REPORT("path_rename(0, existing.txt -> moved.txt)",
           __wasi_path_rename(0, "existing.txt", 0, "moved.txt"));
    REPORT("path_symlink(0, x <- link)", __wasi_path_symlink("x", 0, "link"));
    REPORT("path_link(0, existing.txt -> hard)",
           __wasi_path_link(0, 0, "existing.txt", 0, "hard"));
    __wasi_filestat_t fst;
    REPORT("path_filestat_get(0, existing.txt)",
           __wasi_path_filestat_get(0, 0, "existing.txt", &fst));
    REPORT("path_filestat_set_times(0, existing.txt)",
           __wasi_path_filestat_set_times(0, 0, "existing.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    uint8_t buf[256];
    __wasi_size_t used;
    REPORT("fd_readdir(0)", __wasi_fd_readdir(0, buf, sizeof buf, 0, &used));
    REPORT("path_readlink(0, existing.txt)",
           __wasi_path_readlink(0, "existing.txt", buf, sizeof buf, &used));
    REPORT("fd_filestat_set_times(0)",
           __wasi_fd_filestat_set_times(0, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    return 0;
}

// 3. On a terminal: isatty, and stdout line-buffered (each line shows before we block on
// stdin; the test only answers once it has seen "waiting").
static int scenario_tty(void) {
    printf("isatty: 0=%d 1=%d 2=%d\n", isatty(0), isatty(1), isatty(2));
    for (__wasi_fd_t fd = 0; fd < 3; fd++) {
        __wasi_fdstat_t st;
        MUST(__wasi_fd_fdstat_get(fd, &st) == 0);
        printf("fd %u: filetype=%d seek=%d tell=%d\n", (unsigned)fd, st.fs_filetype,
               !!(st.fs_rights_base & __WASI_RIGHTS_FD_SEEK),
               !!(st.fs_rights_base & __WASI_RIGHTS_FD_TELL));
    }
    printf("waiting\n");
    char line[64] = {0};
    MUST(fgets(line, sizeof line, stdin) != NULL);
    printf("got: %s", line);
    return 0;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// 11. Listing a large directory with 4 KiB buffers: prints every name, then the time taken.
static int scenario_readdir_many(void) {
    find_root();
    __wasi_fd_t d;
    MUST(__wasi_path_open(root, 0, "many", __WASI_OFLAGS_DIRECTORY,
                          R_READ | __WASI_RIGHTS_FD_READDIR, 0, 0, &d) == 0);
    size_t cap = 4 << 20, len = 0;
    char *names = malloc(cap);
    MUST(names != NULL);
    static uint8_t buf[4096];
    __wasi_dircookie_t cookie = 0;
    long entries = 0, calls = 0;
    uint64_t start = now_ns();
    for (;;) {
        __wasi_size_t used;
        MUST(__wasi_fd_readdir(d, buf, sizeof buf, cookie, &used) == 0);
        calls++;
        size_t at = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t de;
            memcpy(&de, buf + at, sizeof de);
            if (at + sizeof de + de.d_namlen > used) break; // cut off: asked for again
            const char *name = (const char *)buf + at + sizeof de;
            if (!(de.d_namlen == 1 && name[0] == '.') &&
                !(de.d_namlen == 2 && name[0] == '.' && name[1] == '.')) {
                MUST(len + de.d_namlen + 1 <= cap);
                memcpy(names + len, name, de.d_namlen);
                len += de.d_namlen;
                names[len++] = '\n';
                entries++;
            }
            cookie = de.d_next;
            at += sizeof de + de.d_namlen;
        }
        if (used < sizeof buf) break;
    }
    uint64_t ms = (now_ns() - start) / 1000000;
    fwrite(names, 1, len, stdout);
    printf("entries=%ld calls=%ld ms=%llu\n", entries, calls, (unsigned long long)ms);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: semantics SCENARIO\n");
        return 2;
    }
    const char *s = argv[1];
    if (!strcmp(s, "isdir")) return scenario_isdir();
    if (!strcmp(s, "symlinks")) return scenario_symlinks();
    if (!strcmp(s, "norights")) return scenario_norights();
    if (!strcmp(s, "stdio-files")) return scenario_stdio_files(argc > 2 && !strcmp(argv[2], "append"));
    if (!strcmp(s, "stdin-dir")) return scenario_stdin_dir();
    if (!strcmp(s, "tty")) return scenario_tty();
    if (!strcmp(s, "readdir-many")) return scenario_readdir_many();
    printf("unknown scenario %s\n", s);
    return 2;
}
