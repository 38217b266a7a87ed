/* Benchmark: memcpy/memset/memmove-heavy work (bulk-memory builtins and libc string routines). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    volatile unsigned rounds = 10000;
    enum { N = 1 << 16 };
    unsigned char *a = malloc(N), *b = malloc(N);
    for (unsigned i = 0; i < N; i++) a[i] = (unsigned char)(i * 7 + 3);
    uint32_t sum = 0;
    for (unsigned r = 0; r < rounds; r++) {
        unsigned len = 1024 + (r * 2654435761u) % (N - 2048);
        unsigned off = (r * 40503u) % 1024;
        memcpy(b + off, a, len);                       /* large copy */
        memset(b, (int)(r & 0xff), off + 17);          /* small/medium fill */
        memmove(b + 1, b, len / 2);                    /* overlapping move */
        for (unsigned k = 0; k < 64; k++) {            /* many small copies */
            memcpy(a + k * 64, b + ((k * 131 + r) % (N - 64)), 24 + (k & 31));
        }
        /* Only memcmp's sign is specified (glibc and musl return a byte difference, LLVM 22's
         * inline expansion returns -1/0/1): fold in the sign so every build agrees. */
        int c = memcmp(a, b, 64);
        sum = sum * 31 + b[len / 3] + a[r % N] + (uint32_t)((c > 0) - (c < 0));
    }
    printf("memops checksum %u\n", sum);
    free(a);
    free(b);
    return 0;
}
