/* Walks a directory tree the way real programs read data directories: `walk ROOT` lists every
 * entry (sorted), with its type and size, a checksum of every file read in small chunks,
 * pread and lseek at the end of each file, and each symlink's target; `write ROOT` tries
 * every kind of change beneath ROOT and prints the errno each one gets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void walk(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) { printf("%*sopendir %s: %s\n", depth * 2, "", dir, strerror(errno)); return; }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (lstat(path, &st) != 0) { printf("%*s%s: lstat %s\n", depth * 2, "", names[i], strerror(errno)); continue; }
        if (S_ISDIR(st.st_mode)) {
            printf("%*s%s/\n", depth * 2, "", names[i]);
            walk(path, depth + 1);
        } else if (S_ISLNK(st.st_mode)) {
            char target[256];
            ssize_t len = readlink(path, target, sizeof target - 1);
            target[len < 0 ? 0 : len] = 0;
            struct stat to;
            int ok = stat(path, &to);
            printf("%*s%s -> %s (%s)\n", depth * 2, "", names[i], target,
                   ok == 0 ? (S_ISDIR(to.st_mode) ? "a directory" : "a file") : strerror(errno));
        } else {
            int fd = open(path, O_RDONLY);
            unsigned long sum = 0, total = 0;
            char buf[1000];
            ssize_t r;
            while ((r = read(fd, buf, sizeof buf)) > 0)
                for (ssize_t k = 0; k < r; k++, total++) sum = sum * 31 + (unsigned char)buf[k];
            char last = 0;
            ssize_t p = st.st_size ? pread(fd, &last, 1, st.st_size - 1) : 0;
            off_t end = lseek(fd, 0, SEEK_END);
            close(fd);
            printf("%*s%s: %ld bytes, read %lu, sum %lx, last byte %d (%zd), end %lld\n", depth * 2, "",
                   names[i], (long)st.st_size, total, sum, last, p, (long long)end);
        }
        free(names[i]);
    }
}

static void try(const char *what, int r) { printf("%s: %s\n", what, r == 0 ? "succeeded" : strerror(errno)); }

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *root = argv[2];
    char p[512], q[512];
    if (!strcmp(argv[1], "walk")) {
        walk(root, 0);
        return 0;
    }
    snprintf(p, sizeof p, "%s/hello.txt", root);
    snprintf(q, sizeof q, "%s/new", root);
    int fd = open(q, O_WRONLY | O_CREAT, 0644);
    try("create", fd >= 0 ? 0 : -1);
    fd = open(p, O_WRONLY);
    try("open for writing", fd >= 0 ? 0 : -1);
    fd = open(p, O_RDWR | O_TRUNC);
    try("truncate", fd >= 0 ? 0 : -1);
    fd = open(p, O_RDONLY);
    try("write to a read-only descriptor", write(fd, "x", 1) == 1 ? 0 : -1);
    try("ftruncate", ftruncate(fd, 0));
    close(fd);
    try("mkdir", mkdir(q, 0755));
    try("unlink", unlink(p));
    try("rmdir", rmdir(root));
    try("rename", rename(p, q));
    try("symlink", symlink("hello.txt", q));
    try("link", link(p, q));
    snprintf(q, sizeof q, "%s/..", root);
    DIR *d = opendir(q);
    printf("opendir ..: %s\n", d ? "opened" : strerror(errno));
    return 0;
}
