// SIMD through wasm_simd128.h intrinsics (when built with -msimd128 for wasm), with a scalar
// twin for the native build: both must print the same lines. Exercises integer and float lane
// arithmetic, saturating ops, shuffles, comparisons/bitmask, widening, dot product, min/max.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define N 4096
static int16_t a16[N], b16[N];
static float af[N], bf[N];
static uint8_t bytes[N];

static void fill(void) {
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        a16[i] = (int16_t)(x >> 8);
        b16[i] = (int16_t)(x >> 13);
        af[i] = (float)((int32_t)(x >> 3) % 2000) / 7.0f;
        bf[i] = (float)((int32_t)(x >> 11) % 3000) / 11.0f;
        bytes[i] = (uint8_t)(x >> 17);
    }
}

// Sum of a16*b16 pairwise products (i32x4.dot_i16x8_s).
static int64_t dot16(void) {
#ifdef __wasm_simd128__
    v128_t acc = wasm_i32x4_splat(0);
    int64_t total = 0;
    for (int i = 0; i < N; i += 8) {
        v128_t p = wasm_i32x4_dot_i16x8(wasm_v128_load(&a16[i]), wasm_v128_load(&b16[i]));
        // Widen to avoid overflow: accumulate 64-bit totals every block.
        total += (int64_t)wasm_i32x4_extract_lane(p, 0) + wasm_i32x4_extract_lane(p, 1) +
                 wasm_i32x4_extract_lane(p, 2) + wasm_i32x4_extract_lane(p, 3);
        acc = wasm_i32x4_add(acc, p);
    }
    (void)acc;
    return total;
#else
    int64_t total = 0;
    for (int i = 0; i < N; i++) total += (int32_t)a16[i] * b16[i];
    return total;
#endif
}

// Saturating add of bytes with a constant, then a checksum.
static uint32_t sat_bytes(void) {
    uint8_t out[N];
#ifdef __wasm_simd128__
    v128_t k = wasm_u8x16_splat(100);
    for (int i = 0; i < N; i += 16) wasm_v128_store(&out[i], wasm_u8x16_add_sat(wasm_v128_load(&bytes[i]), k));
#else
    for (int i = 0; i < N; i++) out[i] = bytes[i] + 100 > 255 ? 255 : bytes[i] + 100;
#endif
    uint32_t h = 2166136261u;
    for (int i = 0; i < N; i++) h = (h ^ out[i]) * 16777619u;
    return h;
}

// Count of lanes where af > bf (f32x4.gt + bitmask), and sum of max(af, bf) (f32x4.max).
static void float_ops(int *count, double *maxsum) {
    int c = 0;
    double s = 0;
#ifdef __wasm_simd128__
    for (int i = 0; i < N; i += 4) {
        v128_t x = wasm_v128_load(&af[i]), y = wasm_v128_load(&bf[i]);
        c += __builtin_popcount(wasm_i32x4_bitmask(wasm_f32x4_gt(x, y)));
        v128_t m = wasm_f32x4_max(x, y);
        s += (double)wasm_f32x4_extract_lane(m, 0) + wasm_f32x4_extract_lane(m, 1) +
             wasm_f32x4_extract_lane(m, 2) + wasm_f32x4_extract_lane(m, 3);
    }
#else
    for (int i = 0; i < N; i += 4) {
        float m[4];
        for (int j = 0; j < 4; j++) {
            c += af[i + j] > bf[i + j];
            m[j] = af[i + j] > bf[i + j] ? af[i + j] : bf[i + j];
        }
        s += (double)m[0] + m[1] + m[2] + m[3];
    }
#endif
    *count = c;
    *maxsum = s;
}

// Reverse each 16-byte block (i8x16.shuffle) and checksum.
static uint32_t reverse_blocks(void) {
    uint8_t out[N];
#ifdef __wasm_simd128__
    for (int i = 0; i < N; i += 16) {
        v128_t v = wasm_v128_load(&bytes[i]);
        wasm_v128_store(&out[i], wasm_i8x16_shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    }
#else
    for (int i = 0; i < N; i += 16)
        for (int j = 0; j < 16; j++) out[i + j] = bytes[i + 15 - j];
#endif
    uint32_t h = 0;
    for (int i = 0; i < N; i++) h = h * 31 + out[i] * (uint32_t)(i + 1);
    return h;
}

int main(void) {
    fill();
    int count;
    double maxsum;
    float_ops(&count, &maxsum);
    printf("dot16 %lld\n", (long long)dot16());
    printf("sat_bytes %u\n", sat_bytes());
    printf("gt_count %d maxsum %.3f\n", count, maxsum);
    printf("reverse %u\n", reverse_blocks());
    return 0;
}
