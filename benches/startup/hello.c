/* Start-up benchmark: the smallest useful WASI command (prints one line and exits). */
#include <stdio.h>

int main(void) {
    puts("hello, world");
    return 0;
}
