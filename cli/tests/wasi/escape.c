// Sandbox escape attempts: a real wasm program that tries, in many different ways, to read,
// create, link, rename, remove or stat something outside the directory it was granted
// (`/sandbox`). Every attempt prints "label: <result>"; a successful escape prints ESCAPED.
// The host layout is prepared by the Rust test (tests/sandbox.rs), which also checks that
// nothing outside the grant changed.
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

// Raw imports taking an explicit path length, so that a path can contain a NUL byte.
__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")))
int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, int32_t len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, int32_t *out);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_create_directory")))
int32_t raw_path_create_directory(int32_t fd, const char *path, int32_t len);

static __wasi_fd_t root;

#define ALL_RIGHTS ((__wasi_rights_t)0x1fffffffull)
#define DIR_RIGHTS (ALL_RIGHTS & ~(__wasi_rights_t)__WASI_RIGHTS_FD_WRITE)
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

// Tries to open `path` under `dir` and read it; prints the outcome.
static void try_open(const char *label, __wasi_fd_t dir, const char *path, __wasi_oflags_t of) {
    __wasi_fd_t fd;
    // A directory cannot be opened for writing.
    __wasi_rights_t base = of & __WASI_OFLAGS_DIRECTORY ? DIR_RIGHTS : ALL_RIGHTS;
    __wasi_errno_t e = __wasi_path_open(dir, FOLLOW, path, of, base, ALL_RIGHTS, 0, &fd);
    if (e) {
        printf("%s: %s\n", label, errname(e));
        return;
    }
    char buf[64] = {0};
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
    __wasi_size_t n = 0;
    if (__wasi_fd_read(fd, &iov, 1, &n)) n = 0;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n') buf[i] = ' ';
    printf("%s: ESCAPED (opened, read %u bytes: %s)\n", label, (unsigned)n, buf);
    if (__wasi_fd_close(fd)) printf("close failed\n");
}

static void result(const char *label, __wasi_errno_t e) {
    printf("%s: %s\n", label, e ? errname(e) : "ESCAPED (call succeeded)");
}

int main(void) {
    int fd = preopen_fd("/sandbox");
    MUST(fd >= 0);
    root = (__wasi_fd_t)fd;

    // 1-4: `..` at several depths.
    try_open("dotdot depth 1", root, "../outside/secret.txt", 0);
    try_open("dotdot depth 2", root, "sub/../../outside/secret.txt", 0);
    try_open("dotdot depth 3", root, "sub/deeper/../../../outside/secret.txt", 0);
    try_open("dotdot depth 9", root, "../../../../../../../../../etc/passwd", 0);
    try_open("dotdot preopen itself", root, "..", __WASI_OFLAGS_DIRECTORY);
    // 5: absolute paths, to the runtime directly and through libc.
    try_open("absolute /etc/passwd", root, "/etc/passwd", 0);
    errno = 0;
    int lfd = open("/etc/passwd", O_RDONLY);
    printf("libc open(/etc/passwd): %s\n", lfd >= 0 ? "ESCAPED (opened)" : errname(errno));
    // 6-9: symlinks created on the host inside the grant.
    try_open("symlink to /etc, then passwd", root, "link_etc/passwd", 0);
    try_open("absolute symlink to a file outside", root, "abs_secret", 0);
    try_open("relative symlink chain escaping", root, "chain1/secret.txt", 0);
    try_open("symlink to ..", root, "link_up/outside/secret.txt", 0);
    try_open("symlink to .. as a directory", root, "link_up", __WASI_OFLAGS_DIRECTORY);
    try_open("symlink ../.. in a subdirectory", root, "sub/up2/outside/secret.txt", 0);
    // 10: a file created through a dangling symlink pointing outside.
    try_open("create through dangling symlink", root, "dangling", __WASI_OFLAGS_CREAT);
    errno = 0;
    FILE *f = fopen("/sandbox/dangling", "w");
    printf("libc fopen(dangling, w): %s\n", f ? "ESCAPED (created)" : errname(errno));
    // 11: hard links out of and into the grant.
    result("path_link to outside", __wasi_path_link(root, 0, "file.txt", root, "../outside_dir/hard.txt"));
    result("path_link from outside", __wasi_path_link(root, 0, "../outside/secret.txt", root, "stolen.txt"));
    result("path_link following absolute symlink",
           __wasi_path_link(root, FOLLOW, "abs_secret", root, "stolen2.txt"));
    result("path_link through symlink to ..",
           __wasi_path_link(root, 0, "link_up/outside/secret.txt", root, "stolen3.txt"));
    // 12: renames out of and into the grant.
    result("path_rename to outside", __wasi_path_rename(root, "file.txt", root, "../outside_dir/moved.txt"));
    result("path_rename through symlink to ..",
           __wasi_path_rename(root, "file.txt", root, "link_up/outside_dir/moved2.txt"));
    result("path_rename from outside", __wasi_path_rename(root, "../outside/secret.txt", root, "got.txt"));
    // 13: readlink and stat through escaping links.
    char buf[128] = {0};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_path_readlink(root, "link_etc", (uint8_t *)buf, sizeof buf, &n);
    printf("readlink(link_etc) (the link itself is inside): %s %.*s\n", errname(e), (int)n, buf);
    e = __wasi_path_readlink(root, "link_up/outside", (uint8_t *)buf, sizeof buf, &n);
    printf("readlink through symlink to ..: %s\n", e ? errname(e) : "ESCAPED");
    __wasi_filestat_t st;
    result("stat following link_etc", __wasi_path_filestat_get(root, FOLLOW, "link_etc", &st));
    result("stat link_etc/passwd", __wasi_path_filestat_get(root, 0, "link_etc/passwd", &st));
    result("stat through symlink to ..", __wasi_path_filestat_get(root, 0, "link_up/outside/secret.txt", &st));
    result("stat ../outside", __wasi_path_filestat_get(root, 0, "../outside", &st));
    e = __wasi_path_filestat_get(root, 0, "link_etc", &st);
    printf("lstat(link_etc) (the link itself): %s filetype=%d\n", errname(e), st.filetype);
    // 14: `..` from a subdirectory descriptor.
    __wasi_fd_t sub;
    MUST(__wasi_path_open(root, 0, "sub", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, ALL_RIGHTS, 0, &sub) == 0);
    try_open("subdir fd: ..", sub, "..", __WASI_OFLAGS_DIRECTORY);
    try_open("subdir fd: ../file.txt", sub, "../file.txt", 0);
    try_open("subdir fd: deeper/../..", sub, "deeper/../..", __WASI_OFLAGS_DIRECTORY);
    {
        __wasi_fd_t in;
        __wasi_errno_t e2 = __wasi_path_open(sub, FOLLOW, "deeper/..", __WASI_OFLAGS_DIRECTORY,
                                             DIR_RIGHTS, ALL_RIGHTS, 0, &in);
        printf("subdir fd: deeper/.. (stays inside, allowed): %s\n", errname(e2));
    }
    // 15: a path with an embedded NUL byte.
    static const char nul_path[] = "file.txt\0../outside/secret.txt";
    int32_t out = -1;
    e = raw_path_open(root, FOLLOW, nul_path, sizeof nul_path - 1, 0, ALL_RIGHTS, ALL_RIGHTS, 0, &out);
    printf("path with embedded NUL: %s\n", e ? errname(e) : "ESCAPED (opened)");
    static const char nul_dir[] = "newdir\0x";
    result("mkdir with embedded NUL", raw_path_create_directory(root, nul_dir, sizeof nul_dir - 1));
    // 16: creating, removing, touching things outside.
    result("mkdir outside", __wasi_path_create_directory(root, "../outside_dir/newdir"));
    result("symlink placed outside", __wasi_path_symlink("file.txt", root, "../outside_dir/sl"));
    result("unlink outside", __wasi_path_unlink_file(root, "../outside/secret.txt"));
    result("unlink through symlink to ..", __wasi_path_unlink_file(root, "link_up/outside/secret.txt"));
    result("rmdir outside", __wasi_path_remove_directory(root, "../outside_dir"));
    result("set times outside", __wasi_path_filestat_set_times(root, 0, "../outside/secret.txt", 0, 0,
                                                               __WASI_FSTFLAGS_MTIM_NOW));
    result("set times following absolute symlink",
           __wasi_path_filestat_set_times(root, FOLLOW, "abs_secret", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    // 17: the guest may not make a symlink pointing out (nor could it follow one out).
    e = __wasi_path_symlink("../outside/secret.txt", root, "guest_link");
    printf("guest creates symlink pointing outside: %s\n", errname(e));
    try_open("open through guest-made symlink", root, "guest_link", 0);
    e = __wasi_path_symlink("/etc/passwd", root, "guest_abs_link");
    printf("guest creates absolute symlink: %s\n", errname(e));
    try_open("open through guest-made absolute symlink", root, "guest_abs_link", 0);
    try_open("truncate through guest-made symlink", root, "guest_link", __WASI_OFLAGS_TRUNC);
    printf("done\n");
    return 0;
}
