/* wasi-libc's memcpy, memmove and memset as exports, for tests/libc_idioms.rs: built for the
 * WebAssembly MVP (no bulk memory), where they are byte and word loops in wasm that wasic
 * recognises (compiler/src/idioms.rs). Built with -fno-builtin, so that clang keeps the calls
 * as calls of the library functions, and with no data in memory: the test overwrites all of it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

__attribute__((export_name("copy"))) uint32_t copy(uint32_t dst, uint32_t src, uint32_t n) {
    return (uint32_t)(uintptr_t)memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
}

__attribute__((export_name("move"))) uint32_t move(uint32_t dst, uint32_t src, uint32_t n) {
    return (uint32_t)(uintptr_t)memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
}

__attribute__((export_name("set"))) uint32_t set(uint32_t dst, int c, uint32_t n) {
    return (uint32_t)(uintptr_t)memset((void *)(uintptr_t)dst, c, n);
}
