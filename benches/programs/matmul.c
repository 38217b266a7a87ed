/* Benchmark: dense f64 matrix multiplication (i-k-j loop order), floating-point loads/stores. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    volatile int size = 360;
    int n = size;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n),
           *c = malloc(sizeof(double) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)(i % 17) * 0.25 - 1.0;
        b[i] = (double)(i % 13) * 0.5 + 0.125;
        c[i] = 0.0;
    }
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double aik = a[i * n + k];
                for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
            }
    double sum = 0.0;
    for (int i = 0; i < n * n; i++) sum += c[i] * (double)((i % 7) + 1);
    printf("matmul checksum %.6f\n", sum);
    return 0;
}
