/* Benchmark: libc qsort with a comparison callback (indirect calls through the table). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct rec { uint32_t key; uint32_t tie; };

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_rec(const void *a, const void *b) {
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->tie > y->tie) - (x->tie < y->tie);
}

int main(void) {
    volatile unsigned count = 150000;
    unsigned n = count;
    uint32_t *v = malloc(n * sizeof *v);
    struct rec *r = malloc(n * sizeof *r);
    uint32_t s = 12345;
    unsigned long long sum = 0;
    for (int rep = 0; rep < 2; rep++) {
        for (unsigned i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            v[i] = s;
            r[i].key = s >> 20;
            r[i].tie = i;
        }
        qsort(v, n, sizeof *v, cmp_u32);
        qsort(r, n, sizeof *r, cmp_rec);
        for (unsigned i = 0; i < n; i += 97) sum += v[i] ^ (r[i].tie * 31u);
    }
    printf("qsort checksum %llu\n", sum);
    free(v);
    free(r);
    return 0;
}
