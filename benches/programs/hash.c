/* Benchmark: integer hashing (FNV-1a, murmur3 finalizer, xorshift): 32/64-bit ALU throughput. */
#include <stdint.h>
#include <stdio.h>

static uint64_t mix64(uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint32_t fnv1a(uint32_t x) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < 4; i++) { h ^= (x >> (i * 8)) & 0xff; h *= 16777619u; }
    return h;
}

int main(void) {
    volatile uint32_t rounds = 8000000;
    uint64_t acc = 0, state = 88172645463325252ULL;
    uint32_t acc32 = 0;
    for (uint32_t i = 0; i < rounds; i++) {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        acc += mix64(state ^ i);
        acc32 = (acc32 << 5 | acc32 >> 27) ^ fnv1a(i + acc32);
    }
    printf("hash checksum %llu %u\n", (unsigned long long)acc, acc32);
    return 0;
}
