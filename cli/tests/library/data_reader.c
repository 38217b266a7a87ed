// A reactor that reads a data file: `first_bytes` returns the first four bytes of
// /data/words.txt as a little-endian number (or -errno), for a library built with
// `wasic build --lib --embed-dir`; `cached_bytes` what it returned at initialisation.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

__attribute__((export_name("first_bytes"))) int first_bytes(void) {
    int fd = open("/data/words.txt", O_RDONLY);
    if (fd < 0) return -errno;
    unsigned char b[4] = {0};
    int n = read(fd, b, 4);
    close(fd);
    if (n != 4) return -1000 - n;
    return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24;
}

// What `first_bytes` returned when the initialiser ran (-1 before), for `--preinit`: a library
// snapshotted at build time answers from its embedded data, whatever its host grants later.
static int cached = -1;

__attribute__((export_name("wizer.initialize"))) void init(void) { cached = first_bytes(); }

__attribute__((export_name("cached_bytes"))) int cached_bytes(void) { return cached; }
