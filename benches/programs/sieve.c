/* Benchmark: sieve of Eratosthenes over a byte array (memory-bound loads/stores). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    volatile unsigned limit = 5000000;
    unsigned n = limit;
    unsigned char *composite = malloc(n + 1);
    unsigned long long total = 0;
    for (int rep = 0; rep < 2; rep++) {
        memset(composite, 0, n + 1);
        unsigned count = 0;
        for (unsigned i = 2; i <= n; i++) {
            if (composite[i]) continue;
            count++;
            for (unsigned long long j = (unsigned long long)i * i; j <= n; j += i) composite[j] = 1;
        }
        total += count;
    }
    printf("sieve checksum %llu\n", total);
    free(composite);
    return 0;
}
