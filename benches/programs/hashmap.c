/* Benchmark: malloc/free-heavy chained hash map (insert, lookup, delete with node allocation). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct node { uint64_t key; uint64_t value; struct node *next; };

static struct node **buckets;
static unsigned nbuckets;

static unsigned slot(uint64_t k) { return (unsigned)((k * 0x9E3779B97F4A7C15ULL) >> 40) & (nbuckets - 1); }

static void insert(uint64_t k, uint64_t v) {
    unsigned s = slot(k);
    for (struct node *n = buckets[s]; n; n = n->next)
        if (n->key == k) { n->value += v; return; }
    struct node *n = malloc(sizeof *n);
    n->key = k; n->value = v; n->next = buckets[s];
    buckets[s] = n;
}

static int erase(uint64_t k) {
    struct node **p = &buckets[slot(k)];
    for (; *p; p = &(*p)->next)
        if ((*p)->key == k) { struct node *d = *p; *p = d->next; free(d); return 1; }
    return 0;
}

static uint64_t lookup(uint64_t k) {
    for (struct node *n = buckets[slot(k)]; n; n = n->next)
        if (n->key == k) return n->value;
    return 0;
}

int main(void) {
    volatile unsigned ops = 1200000;
    nbuckets = 1 << 16;
    buckets = calloc(nbuckets, sizeof *buckets);
    uint64_t s = 1, sum = 0;
    unsigned erased = 0;
    for (unsigned i = 0; i < ops; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t k = (s >> 33) % 200000;
        switch ((s >> 20) & 3) {
        case 0: case 1: insert(k, i); break;
        case 2: sum += lookup(k); break;
        case 3: erased += erase(k); break;
        }
    }
    for (unsigned b = 0; b < nbuckets; b++)
        while (buckets[b]) { struct node *n = buckets[b]; buckets[b] = n->next; sum ^= n->value; free(n); }
    printf("hashmap checksum %llu %u\n", (unsigned long long)sum, erased);
    free(buckets);
    return 0;
}
