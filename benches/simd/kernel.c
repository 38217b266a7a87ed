// A SIMD kernel and its scalar twin from one source: built with -msimd128 the loops use
// wasm_simd128.h intrinsics, without it plain C (compiled with -fno-vectorize so the twin
// stays scalar). Both print the same checksum.
#include <stdint.h>
#include <stdio.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define N 4096
#define REPS 4000
static float xs[N], ys[N];
static int16_t as[N], bs[N];

int main(void) {
    for (int i = 0; i < N; i++) {
        xs[i] = (float)(i % 97) * 0.01f;
        ys[i] = (float)(i % 89) * 0.02f;
        as[i] = (int16_t)(i * 7);
        bs[i] = (int16_t)(i * 3 - 100);
    }
    double fsum = 0;
    int64_t isum = 0;
    for (int r = 0; r < REPS; r++) {
#ifdef __wasm_simd128__
        v128_t f = wasm_f32x4_splat(0), d = wasm_i32x4_splat(0);
        for (int i = 0; i < N; i += 4)
            f = wasm_f32x4_add(f, wasm_f32x4_mul(wasm_v128_load(&xs[i]), wasm_v128_load(&ys[i])));
        for (int i = 0; i < N; i += 8)
            d = wasm_i32x4_add(d, wasm_i32x4_dot_i16x8(wasm_v128_load(&as[i]), wasm_v128_load(&bs[i])));
        float fl[4];
        int32_t dl[4];
        wasm_v128_store(fl, f);
        wasm_v128_store(dl, d);
        fsum += (double)((fl[0] + fl[2]) + (fl[1] + fl[3]));
        isum += (int64_t)dl[0] + dl[1] + dl[2] + dl[3];
#else
        float fl[4] = {0, 0, 0, 0};
        int32_t dl[4] = {0, 0, 0, 0};
        for (int i = 0; i < N; i += 4)
            for (int j = 0; j < 4; j++) fl[j] += xs[i + j] * ys[i + j];
        for (int i = 0; i < N; i += 8)
            for (int j = 0; j < 4; j++) dl[j] += as[i + 2 * j] * bs[i + 2 * j] + as[i + 2 * j + 1] * bs[i + 2 * j + 1];
        fsum += (double)((fl[0] + fl[2]) + (fl[1] + fl[3]));
        isum += (int64_t)dl[0] + dl[1] + dl[2] + dl[3];
#endif
        xs[r % N] += 0.001f;
    }
    printf("simd kernel checksum %.3f %lld\n", fsum, (long long)isum);
    return 0;
}
