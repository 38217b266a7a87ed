// The acceptance program of the wasic issue: reads a file from a granted directory (/data),
// writes another one there, lists the directory (sorted), reads its environment and arguments,
// and exits with status 7. Its output must be identical under wasic and wasmtime.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    // Arguments (argv[0] differs between runners, so it is not printed).
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);

    // Environment.
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    printf("UNSET_VAR=%s\n", getenv("UNSET_VAR") ? "set!" : "(unset)");

    // Read the input file.
    FILE *in = fopen("/data/input.txt", "r");
    if (!in) {
        perror("open /data/input.txt");
        return 1;
    }
    char line[256];
    int lines = 0;
    long bytes = 0;
    char upper[4096];
    size_t up = 0;
    while (fgets(line, sizeof line, in)) {
        lines++;
        for (char *c = line; *c; c++, bytes++)
            if (up < sizeof upper - 1) upper[up++] = (*c >= 'a' && *c <= 'z') ? *c - 32 : *c;
    }
    upper[up] = 0;
    fclose(in);
    printf("input: %d lines, %ld bytes\n", lines, bytes);

    // Write the output file.
    FILE *out = fopen("/data/output.txt", "w");
    if (!out) {
        perror("open /data/output.txt");
        return 1;
    }
    fprintf(out, "%s", upper);
    fprintf(out, "greeting was %s\n", greeting ? greeting : "(unset)");
    fclose(out);

    // List the directory, sorted, with a marker for directories.
    DIR *d = opendir("/data");
    if (!d) {
        perror("opendir /data");
        return 1;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[512];
        snprintf(path, sizeof path, "/data/%s", e->d_name);
        struct stat st;
        int isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        char buf[300];
        snprintf(buf, sizeof buf, "%s%s", e->d_name, isdir ? "/" : "");
        names[n++] = strdup(buf);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp);
    printf("entries:\n");
    for (int i = 0; i < n; i++) printf("  %s\n", names[i]);
    printf("exiting with 7\n");
    return 7;
}
