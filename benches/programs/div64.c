/* Benchmark: 64-bit integer division and remainder (signed and unsigned, variable divisors). */
#include <stdint.h>
#include <stdio.h>

int main(void) {
    volatile uint64_t rounds = 6000000;
    uint64_t acc = 0x123456789abcdefULL, s = 42;
    int64_t sacc = 0;
    for (uint64_t i = 1; i <= rounds; i++) {
        s ^= s << 7; s ^= s >> 9;
        uint64_t d = (s & 0xffffff) | 1;
        acc += (s / d) ^ (acc % (i | 3));
        int64_t sd = (int64_t)(s >> 1) - (int64_t)(1ULL << 62);
        sacc += sd / (int64_t)((i & 0xfff) + 1) + sd % 1000003;
    }
    printf("div64 checksum %llu %lld\n", (unsigned long long)acc, (long long)sacc);
    return 0;
}
