/* Benchmark: Mandelbrot set escape-time iteration (f64 multiply/add with a data-dependent exit). */
#include <stdio.h>

int main(void) {
    volatile int size = 600;
    int w = size, h = size, max_iter = 200;
    unsigned long long total = 0;
    for (int y = 0; y < h; y++) {
        double ci = (double)y * 2.0 / h - 1.0;
        for (int x = 0; x < w; x++) {
            double cr = (double)x * 3.0 / w - 2.0, zr = 0, zi = 0;
            int k = 0;
            while (k < max_iter && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                k++;
            }
            total += (unsigned long long)k * (unsigned)(x ^ y);
        }
    }
    printf("mandel checksum %llu\n", total);
    return 0;
}
