// The README's demo: a WASI command that greets, shows its arguments and exits 0.
#include <stdio.h>

int main(int argc, char **argv) {
    printf("Hello from WebAssembly, compiled ahead of time by wasic!\n");
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    return 0;
}
