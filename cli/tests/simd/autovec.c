// Loops clang auto-vectorizes with -msimd128 (no intrinsics): the same source built natively
// and for wasm must print the same lines.
#include <stdint.h>
#include <stdio.h>

#define N 10000
static int32_t a[N], b[N], c[N];
static float x[N], y[N];
static uint8_t p[N], q[N];

int main(void) {
    for (int i = 0; i < N; i++) {
        a[i] = i * 7 - 5000;
        b[i] = (i * 13) % 1001 - 500;
        x[i] = (float)i * 0.5f;
        y[i] = (float)(N - i) * 0.25f;
        p[i] = (uint8_t)(i * 3);
        q[i] = (uint8_t)(i * 5 + 1);
    }
    for (int r = 0; r < 10; r++) {
        for (int i = 0; i < N; i++) c[i] = a[i] * b[i] + (c[i] >> 1);
        for (int i = 0; i < N; i++) x[i] = x[i] * 0.999f + y[i];
        for (int i = 0; i < N; i++) p[i] = (uint8_t)((p[i] + q[i]) >> 1) ^ q[i];
    }
    int64_t s = 0;
    int32_t mx = INT32_MIN;
    for (int i = 0; i < N; i++) {
        s += c[i];
        if (c[i] > mx) mx = c[i];
    }
    double fs = 0;
    for (int i = 0; i < N; i++) fs += x[i];
    uint32_t h = 0;
    for (int i = 0; i < N; i++) h = h * 33 + p[i];
    printf("sum %lld max %d\n", (long long)s, mx);
    printf("fsum %.2f\n", fs);
    printf("bytes %u\n", h);
    return 0;
}
