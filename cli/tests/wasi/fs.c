// Test program for the file-system functions of WASI: descriptors (fd_*) and paths (path_*),
// run with a host directory granted as `/sandbox`. The first argument selects the scenario;
// the Rust tests check the exact output, the files left on the host, and the exit status.
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static __wasi_fd_t dirfd_;

// Raw path calls take (pointer, length) in the ABI; these helpers pass C strings.
#define P(s) (s)

static __wasi_fd_t open_raw(const char *path, __wasi_oflags_t of, __wasi_rights_t base, __wasi_errno_t *e) {
    __wasi_fd_t fd = (__wasi_fd_t)-1;
    *e = __wasi_path_open(dirfd_, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, of, base, base, 0, &fd);
    return fd;
}

static void write_str(__wasi_fd_t fd, const char *s) {
    __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
    __wasi_size_t n;
    MUST(__wasi_fd_write(fd, &iov, 1, &n) == 0 && n == strlen(s));
}

static int scenario_io(void) {
    __wasi_errno_t e;
    __wasi_fd_t fd = open_raw("io.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                              __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
                                  __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_ADVISE |
                                  __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_GET |
                                  __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_SYNC |
                                  __WASI_RIGHTS_FD_DATASYNC,
                              &e);
    REPORT("path_open(io.txt, creat|trunc)", e);
    __wasi_size_t n;
    __wasi_ciovec_t w[2] = {{(const uint8_t *)"hello ", 6}, {(const uint8_t *)"world\n", 6}};
    REPORT("fd_write(2 iovecs)", __wasi_fd_write(fd, w, 2, &n));
    printf("wrote %u\n", (unsigned)n);
    __wasi_filesize_t pos;
    REPORT("fd_seek(0, set)", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    printf("pos=%llu\n", (unsigned long long)pos);
    char buf[32] = {0};
    __wasi_iovec_t r = {(uint8_t *)buf, 5};
    REPORT("fd_read(5)", __wasi_fd_read(fd, &r, 1, &n));
    printf("read %u: %.*s\n", (unsigned)n, (int)n, buf);
    REPORT("fd_tell", __wasi_fd_tell(fd, &pos));
    printf("pos=%llu\n", (unsigned long long)pos);
    memset(buf, 0, sizeof buf);
    r.buf_len = 5;
    REPORT("fd_pread(5 at 6)", __wasi_fd_pread(fd, &r, 1, 6, &n));
    printf("pread %u: %.*s\n", (unsigned)n, (int)n, buf);
    REPORT("fd_tell", __wasi_fd_tell(fd, &pos));
    printf("pos after pread=%llu\n", (unsigned long long)pos);
    __wasi_ciovec_t pw = {(const uint8_t *)"WORLD", 5};
    REPORT("fd_pwrite(5 at 6)", __wasi_fd_pwrite(fd, &pw, 1, 6, &n));
    REPORT("fd_seek(-1, end)", __wasi_fd_seek(fd, -1, __WASI_WHENCE_END, &pos));
    printf("pos=%llu\n", (unsigned long long)pos);
    REPORT("fd_seek(-2, cur)", __wasi_fd_seek(fd, -2, __WASI_WHENCE_CUR, &pos));
    printf("pos=%llu\n", (unsigned long long)pos);
    REPORT("fd_seek(whence 9)", __wasi_fd_seek(fd, 0, 9, &pos));
    REPORT("fd_advise(sequential)", __wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_SEQUENTIAL));
    REPORT("fd_advise(dontneed)", __wasi_fd_advise(fd, 0, 12, __WASI_ADVICE_DONTNEED));
    REPORT("fd_advise(advice 99)", __wasi_fd_advise(fd, 0, 0, 99));
    REPORT("fd_allocate(0, 4096)", __wasi_fd_allocate(fd, 0, 4096));
    __wasi_filestat_t st;
    REPORT("fd_filestat_get", __wasi_fd_filestat_get(fd, &st));
    printf("size=%llu\n", (unsigned long long)st.size);
    REPORT("fd_filestat_set_size(12)", __wasi_fd_filestat_set_size(fd, 12));
    REPORT("fd_filestat_get", __wasi_fd_filestat_get(fd, &st));
    printf("size=%llu\n", (unsigned long long)st.size);
    REPORT("fd_datasync", __wasi_fd_datasync(fd));
    REPORT("fd_sync", __wasi_fd_sync(fd));
    REPORT("fd_close", __wasi_fd_close(fd));
    REPORT("fd_close(again)", __wasi_fd_close(fd));
    REPORT("fd_write(closed fd)", __wasi_fd_write(fd, w, 1, &n));
    // Through libc as well: read-only descriptor, write refused.
    int ro = open("/sandbox/io.txt", O_RDONLY);
    MUST(ro >= 0);
    LIBC("write(read-only fd)", write(ro, "x", 1));
    LIBC("read(read-only fd)", read(ro, buf, sizeof buf));
    printf("content=%.12s", buf);
    LIBC("close", close(ro));
    REPORT("fd_seek(stdout pipe)", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos));
    return 0;
}

static int scenario_stat(void) {
    __wasi_errno_t e;
    __wasi_fd_t fd = open_raw("stat.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                              __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
                                  __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_FILESTAT_GET |
                                  __WASI_RIGHTS_FD_FILESTAT_SET_TIMES,
                              &e);
    REPORT("path_open(stat.txt)", e);
    write_str(fd, "12345");
    __wasi_fdstat_t fs;
    REPORT("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &fs));
    printf("filetype=%d flags=%d read=%d write=%d seek=%d\n", fs.fs_filetype, fs.fs_flags,
           !!(fs.fs_rights_base & __WASI_RIGHTS_FD_READ), !!(fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE),
           !!(fs.fs_rights_base & __WASI_RIGHTS_FD_SEEK));
    REPORT("fd_fdstat_set_flags(append)", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
    REPORT("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &fs));
    printf("flags=%d (append=%d)\n", fs.fs_flags, __WASI_FDFLAGS_APPEND);
    __wasi_filesize_t pos;
    MUST(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos) == 0);
    write_str(fd, "67"); // appended, not written at 0
    REPORT("fd_fdstat_set_flags(sync)", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_SYNC));
    __wasi_rights_t fewer = fs.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE;
    REPORT("fd_fdstat_set_rights(drop write)", __wasi_fd_fdstat_set_rights(fd, fewer, 0));
    REPORT("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &fs));
    printf("write right=%d\n", !!(fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
    __wasi_ciovec_t iov = {(const uint8_t *)"8", 1};
    __wasi_size_t n;
    REPORT("fd_write(after dropping write)", __wasi_fd_write(fd, &iov, 1, &n));
    REPORT("fd_fdstat_set_rights(regain write)",
           __wasi_fd_fdstat_set_rights(fd, fewer | __WASI_RIGHTS_FD_WRITE, 0));
    __wasi_filestat_t st;
    REPORT("fd_filestat_get", __wasi_fd_filestat_get(fd, &st));
    printf("filetype=%d size=%llu nlink=%llu\n", st.filetype, (unsigned long long)st.size,
           (unsigned long long)st.nlink);
    const __wasi_timestamp_t S = 1000000000ull;
    REPORT("fd_filestat_set_times(atim, mtim)",
           __wasi_fd_filestat_set_times(fd, 1000000000ull * S, 1500000000ull * S + 5,
                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    REPORT("fd_filestat_get", __wasi_fd_filestat_get(fd, &st));
    printf("atim=%llu mtim=%llu\n", (unsigned long long)st.atim, (unsigned long long)st.mtim);
    REPORT("fd_filestat_set_times(mtim + mtim_now)",
           __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW));
    REPORT("fd_close", __wasi_fd_close(fd));

    REPORT("path_create_directory(subdir)", __wasi_path_create_directory(dirfd_, "subdir"));
    REPORT("path_filestat_get(stat.txt)", __wasi_path_filestat_get(dirfd_, 0, "stat.txt", &st));
    printf("filetype=%d size=%llu mtim_s=%llu\n", st.filetype, (unsigned long long)st.size,
           (unsigned long long)(st.mtim / S));
    REPORT("path_filestat_get(subdir)", __wasi_path_filestat_get(dirfd_, 0, "subdir", &st));
    printf("filetype=%d\n", st.filetype);
    REPORT("path_filestat_get(missing)", __wasi_path_filestat_get(dirfd_, 0, "missing", &st));
    REPORT("path_filestat_get(stat.txt/)", __wasi_path_filestat_get(dirfd_, 0, "stat.txt/", &st));
    REPORT("path_filestat_set_times(other.txt mtim, atim_now)",
           __wasi_path_filestat_set_times(dirfd_, 0, "other.txt", 0, 1234567890ull * S,
                                          __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_ATIM_NOW));
    REPORT("path_filestat_get(other.txt)", __wasi_path_filestat_get(dirfd_, 0, "other.txt", &st));
    printf("mtim=%llu\n", (unsigned long long)st.mtim);
    REPORT("path_filestat_set_times(atim + atim_now)",
           __wasi_path_filestat_set_times(dirfd_, 0, "other.txt", 0, 0,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
    REPORT("fd_filestat_get(preopen)", __wasi_fd_filestat_get(dirfd_, &st));
    printf("filetype=%d\n", st.filetype);
    // libc's stat goes through path_filestat_get as well.
    struct stat sb;
    LIBC("stat(/sandbox/stat.txt)", stat("/sandbox/stat.txt", &sb));
    printf("size=%lld regular=%d\n", (long long)sb.st_size, S_ISREG(sb.st_mode));
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scenario_dirs(void) {
    REPORT("path_create_directory(d1)", __wasi_path_create_directory(dirfd_, "d1"));
    REPORT("path_create_directory(d1) again", __wasi_path_create_directory(dirfd_, "d1"));
    REPORT("path_create_directory(d1/d2)", __wasi_path_create_directory(dirfd_, "d1/d2"));
    REPORT("path_create_directory(nope/d3)", __wasi_path_create_directory(dirfd_, "nope/d3"));
    __wasi_errno_t e;
    __wasi_fd_t f = open_raw("d1/f.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, __WASI_RIGHTS_FD_WRITE, &e);
    REPORT("path_open(d1/f.txt, creat|excl)", e);
    write_str(f, "moved file\n");
    MUST(__wasi_fd_close(f) == 0);
    open_raw("d1/f.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, __WASI_RIGHTS_FD_WRITE, &e);
    REPORT("path_open(d1/f.txt, creat|excl) again", e);
    open_raw("d1/f.txt", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR, &e);
    REPORT("path_open(d1/f.txt, directory)", e);
    open_raw("missing.txt", 0, __WASI_RIGHTS_FD_READ, &e);
    REPORT("path_open(missing.txt)", e);
    REPORT("path_remove_directory(d1) non-empty", __wasi_path_remove_directory(dirfd_, "d1"));
    REPORT("path_remove_directory(d1/f.txt)", __wasi_path_remove_directory(dirfd_, "d1/f.txt"));
    REPORT("path_unlink_file(d1/d2)", __wasi_path_unlink_file(dirfd_, "d1/d2"));
    REPORT("path_rename(d1/f.txt -> d1/d2/g.txt)", __wasi_path_rename(dirfd_, "d1/f.txt", dirfd_, "d1/d2/g.txt"));
    REPORT("path_rename(missing -> x)", __wasi_path_rename(dirfd_, "missing", dirfd_, "x"));
    REPORT("path_rename(keep.txt -> renamed.txt)", __wasi_path_rename(dirfd_, "keep.txt", dirfd_, "renamed.txt"));
    REPORT("path_unlink_file(doomed.txt)", __wasi_path_unlink_file(dirfd_, "doomed.txt"));
    REPORT("path_unlink_file(doomed.txt) again", __wasi_path_unlink_file(dirfd_, "doomed.txt"));
    REPORT("path_rename(d1/d2 -> d2moved)", __wasi_path_rename(dirfd_, "d1/d2", dirfd_, "d2moved"));
    REPORT("path_remove_directory(d1)", __wasi_path_remove_directory(dirfd_, "d1"));
    REPORT("path_create_directory(empty)", __wasi_path_create_directory(dirfd_, "empty"));
    REPORT("path_remove_directory(empty)", __wasi_path_remove_directory(dirfd_, "empty"));

    // fd_prestat_*.
    __wasi_prestat_t ps;
    REPORT("fd_prestat_get(preopen)", __wasi_fd_prestat_get(dirfd_, &ps));
    printf("tag=%d name_len=%u\n", ps.tag, (unsigned)ps.u.dir.pr_name_len);
    char name[64] = {0};
    REPORT("fd_prestat_dir_name", __wasi_fd_prestat_dir_name(dirfd_, (uint8_t *)name, ps.u.dir.pr_name_len));
    printf("name=%s\n", name);
    REPORT("fd_prestat_dir_name(short buffer)", __wasi_fd_prestat_dir_name(dirfd_, (uint8_t *)name, 2));
    REPORT("fd_prestat_get(stdout)", __wasi_fd_prestat_get(1, &ps));
    REPORT("fd_prestat_get(fd 99)", __wasi_fd_prestat_get(99, &ps));

    // fd_readdir through libc: sorted names with types.
    DIR *d = opendir("/sandbox");
    MUST(d != NULL);
    char *names[64];
    int count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL && count < 64) {
        char line[300];
        const char *t = ent->d_type == DT_DIR ? "dir" : ent->d_type == DT_REG ? "file" : ent->d_type == DT_LNK ? "symlink" : "other";
        snprintf(line, sizeof line, "%s %s", ent->d_name, t);
        names[count++] = strdup(line);
    }
    closedir(d);
    qsort(names, count, sizeof(char *), cmp_str);
    printf("readdir: %d entries\n", count);
    for (int i = 0; i < count; i++) printf("  %s\n", names[i]);

    // fd_readdir raw, with a tiny buffer and cookies: every entry comes, one call at a time.
    __wasi_fd_t dfd = open_raw(".", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR, &e);
    REPORT("path_open(., directory)", e);
    __wasi_dircookie_t cookie = 0;
    int raw_count = 0, calls = 0;
    for (;;) {
        uint8_t buf[sizeof(__wasi_dirent_t) + 256];
        __wasi_size_t used;
        e = __wasi_fd_readdir(dfd, buf, sizeof buf, cookie, &used);
        calls++;
        if (e || used < sizeof(__wasi_dirent_t)) break;
        __wasi_dirent_t de;
        memcpy(&de, buf, sizeof de);
        raw_count++;
        cookie = de.d_next;
        if (calls > 100) break;
    }
    printf("fd_readdir raw: %s, %d entries\n", errname(e), raw_count);
    REPORT("fd_readdir(regular file)", __wasi_fd_readdir(1, (uint8_t *)name, sizeof name, 0, (__wasi_size_t *)&count));
    return 0;
}

static int scenario_links(void) {
    REPORT("path_symlink(target.txt <- sym)", __wasi_path_symlink("target.txt", dirfd_, "sym"));
    REPORT("path_symlink(again)", __wasi_path_symlink("target.txt", dirfd_, "sym"));
    char buf[64] = {0};
    __wasi_size_t n;
    REPORT("path_readlink(sym)", __wasi_path_readlink(dirfd_, "sym", (uint8_t *)buf, sizeof buf, &n));
    printf("link=%.*s len=%u\n", (int)n, buf, (unsigned)n);
    memset(buf, 0, sizeof buf);
    REPORT("path_readlink(sym, 4-byte buffer)", __wasi_path_readlink(dirfd_, "sym", (uint8_t *)buf, 4, &n));
    printf("link=%.*s len=%u\n", (int)n, buf, (unsigned)n);
    REPORT("path_readlink(target.txt)", __wasi_path_readlink(dirfd_, "target.txt", (uint8_t *)buf, sizeof buf, &n));
    __wasi_filestat_t st;
    REPORT("path_filestat_get(sym, nofollow)", __wasi_path_filestat_get(dirfd_, 0, "sym", &st));
    printf("filetype=%d (symlink=%d)\n", st.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
    REPORT("path_filestat_get(sym, follow)",
           __wasi_path_filestat_get(dirfd_, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sym", &st));
    printf("filetype=%d size=%llu\n", st.filetype, (unsigned long long)st.size);
    FILE *f = fopen("/sandbox/sym", "r");
    MUST(f != NULL);
    MUST(fgets(buf, sizeof buf, f) != NULL);
    fclose(f);
    printf("read through sym: %s", buf);
    __wasi_errno_t e;
    open_raw("sym", 0, __WASI_RIGHTS_FD_READ, &e);
    REPORT("path_open(sym, follow)", e);
    __wasi_fd_t nf;
    e = __wasi_path_open(dirfd_, 0, "sym", 0, __WASI_RIGHTS_FD_READ, 0, 0, &nf);
    REPORT("path_open(sym, nofollow)", e);

    REPORT("path_link(target.txt -> hard)", __wasi_path_link(dirfd_, 0, "target.txt", dirfd_, "hard"));
    REPORT("path_link(again)", __wasi_path_link(dirfd_, 0, "target.txt", dirfd_, "hard"));
    REPORT("path_link(missing -> x)", __wasi_path_link(dirfd_, 0, "missing", dirfd_, "x"));
    REPORT("path_filestat_get(target.txt)", __wasi_path_filestat_get(dirfd_, 0, "target.txt", &st));
    printf("nlink=%llu\n", (unsigned long long)st.nlink);
    REPORT("path_symlink(subdir <- dirlink)", __wasi_path_symlink("subdir", dirfd_, "dirlink"));
    f = fopen("/sandbox/dirlink/inner.txt", "r");
    MUST(f != NULL);
    MUST(fgets(buf, sizeof buf, f) != NULL);
    fclose(f);
    printf("read through dirlink: %s", buf);
    REPORT("path_unlink_file(sym)", __wasi_path_unlink_file(dirfd_, "sym"));
    REPORT("path_symlink(dangling <- dangle)", __wasi_path_symlink("nothing-here", dirfd_, "dangle"));
    open_raw("dangle", 0, __WASI_RIGHTS_FD_READ, &e);
    REPORT("path_open(dangle)", e);
    REPORT("path_remove_directory(dirlink)", __wasi_path_remove_directory(dirfd_, "dirlink"));
    return 0;
}

static int scenario_fds(void) {
    __wasi_errno_t e;
    __wasi_fd_t a = open_raw("a.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, &e);
    REPORT("path_open(a.txt)", e);
    __wasi_fd_t b = open_raw("b.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, &e);
    REPORT("path_open(b.txt)", e);
    printf("distinct fds: %s\n", a != b && a > 3 && b > 3 ? "yes" : "NO");
    REPORT("fd_renumber(a -> b)", __wasi_fd_renumber(a, b));
    write_str(b, "written via b after renumber\n");
    REPORT("fd_close(a) after renumber", __wasi_fd_close(a));
    REPORT("fd_renumber(b -> 99)", __wasi_fd_renumber(b, 99));
    REPORT("fd_renumber(55 -> b)", __wasi_fd_renumber(55, b));
    REPORT("fd_renumber(b -> b)", __wasi_fd_renumber(b, b));
    __wasi_fd_t c = open_raw("c.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, &e);
    REPORT("path_open(c.txt)", e);
    printf("freed number reused: %s\n", c == a ? "yes" : "NO");
    REPORT("fd_close(b)", __wasi_fd_close(b));
    printf("last line on the real stdout\n");
    fflush(stdout);
    // From here on stdout is c.txt.
    REPORT("fd_renumber(c -> 1)", __wasi_fd_renumber(c, 1));
    printf("this goes to c.txt\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: fs SCENARIO\n");
        return 2;
    }
    int fd = preopen_fd("/sandbox");
    MUST(fd >= 0);
    dirfd_ = (__wasi_fd_t)fd;
    const char *s = argv[1];
    if (!strcmp(s, "io")) return scenario_io();
    if (!strcmp(s, "stat")) return scenario_stat();
    if (!strcmp(s, "dirs")) return scenario_dirs();
    if (!strcmp(s, "links")) return scenario_links();
    if (!strcmp(s, "fds")) return scenario_fds();
    printf("unknown scenario %s\n", s);
    return 2;
}
