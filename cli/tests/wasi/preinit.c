/* A program with an expensive initialiser, Wizer's convention (`wizer.initialize`): it sieves
 * the primes below 20,000,000 (about a tenth of a second) and keeps a table of them. `main`
 * runs the initialiser itself unless it already ran (at build time, with `wasic build
 * --preinit`), then answers from the table. With -DHEAP_MB=N the initialiser also fills an N MB
 * heap buffer, to measure what a large snapshot costs at start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 20000000
#ifndef HEAP_MB
#define HEAP_MB 0
#endif

static unsigned *primes;
static unsigned count;
static int initialized;
static unsigned char *heap;

__attribute__((export_name("wizer.initialize"))) void initialize(void) {
    unsigned char *composite = calloc(LIMIT, 1);
    primes = malloc(sizeof *primes * 1300000);
    for (unsigned i = 2; i < LIMIT; i++) {
        if (composite[i]) continue;
        primes[count++] = i;
        for (unsigned long long j = (unsigned long long)i * i; j < LIMIT; j += i) composite[j] = 1;
    }
    free(composite);
    if (HEAP_MB) {
        heap = malloc((size_t)HEAP_MB << 20);
        for (size_t k = 0; k < ((size_t)HEAP_MB << 20); k++) heap[k] = (unsigned char)(k * 7 + 1);
    }
    initialized = 1;
}

int main(int argc, char **argv) {
    printf("initialized before main: %s\n", initialized ? "yes" : "no");
    if (!initialized) initialize();
    unsigned long long sum = 0;
    for (unsigned i = 0; i < count; i++) sum += primes[i];
    printf("%u primes below %d, sum %llu, the 1000000th is %u\n", count, LIMIT, sum, primes[999999]);
    if (HEAP_MB) printf("heap byte %d\n", heap[((size_t)HEAP_MB << 20) - 1]);
    return 0;
}
