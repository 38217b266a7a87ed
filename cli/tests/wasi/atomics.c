/* Atomic operations on the ordinary (non-shared) memory of a single-threaded program, as a
   C/C++ program built with the atomics target feature has them (cli/tests/atomics.rs builds it
   with `-matomics`): read-modify-writes of every width, exchange, compare-exchange that succeeds
   and one that fails, loads and a fence. */
#include <stdatomic.h>
#include <stdio.h>

static _Atomic int counter;
static _Atomic long long wide = -1;
static _Atomic unsigned char small = 250;
static _Atomic unsigned short half = 0xfff0;

int main(void) {
    for (int i = 0; i < 1000; i++)
        atomic_fetch_add(&counter, 3);
    int old = __atomic_fetch_add((int *)&counter, 5, __ATOMIC_SEQ_CST);
    long long w = atomic_exchange(&wide, 0x123456789abcLL);
    int expected = 3005;
    int swapped = atomic_compare_exchange_strong(&counter, &expected, 7);
    int stale = 3005;
    int failed = atomic_compare_exchange_strong(&counter, &stale, 9);
    unsigned s = atomic_fetch_add(&small, 10); /* wraps to 4 */
    unsigned h = atomic_fetch_or(&half, 0x000f);
    atomic_fetch_sub(&wide, 0x1000);
    atomic_thread_fence(memory_order_seq_cst);
    printf("fetch_add %d, counter %d\n", old, atomic_load(&counter));
    printf("exchange %lld, wide %llx\n", w, (unsigned long long)atomic_load(&wide));
    printf("cas %d/%d, failed cas %d saw %d\n", swapped, expected, failed, stale);
    printf("u8 %u -> %u, u16 %x -> %x\n", s, (unsigned)atomic_load(&small), h,
           (unsigned)atomic_load(&half));
    return 0;
}
