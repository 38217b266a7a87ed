// Exception-handling benchmark: one million C++ exceptions, each thrown three frames below the
// handler that catches it by reference. Measures throw + unwind + catch, not the happy path.
#include <cstdio>

struct E {
    int v;
};

__attribute__((noinline)) void f3(int i) { throw E{i & 7}; }
__attribute__((noinline)) void f2(int i) { f3(i); }
__attribute__((noinline)) void f1(int i) { f2(i); }

int main() {
    long sum = 0;
    for (int i = 0; i < 1000000; i++) {
        try {
            f1(i);
        } catch (const E &e) {
            sum += e.v;
        }
    }
    printf("sum=%ld\n", sum);
    return sum == 3500000 ? 0 : 1;
}
