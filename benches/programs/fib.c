/* Benchmark: deep recursion and call overhead (naive recursive Fibonacci). */
#include <stdio.h>

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
    volatile unsigned n = 35;
    unsigned sum = 0;
    for (int i = 0; i < 2; i++) sum += fib(n + i);
    printf("fib checksum %u\n", sum);
    return 0;
}
