/* Benchmark: a switch-based bytecode interpreter loop (compiles to br_table dispatch). */
#include <stdint.h>
#include <stdio.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, XOR, SHR, DUP, JNZ, DEC, SWAP, POP, HALT };

/* Computes a hash-like mix over a countdown loop:
 *   r0 = N; r1 = 7; do { r1 = ((r1 * 31) ^ (r1 >> 3)) + r0; r0 -= 1; } while (r0); */
static const int32_t program[] = {
    LOAD, 0,          /* 0: [r0] */
    LOAD, 1,          /* 2: [r0 r1] */
    PUSH, 31, MUL,    /* 4: [r0 r1*31] */
    LOAD, 1, PUSH, 3, SHR, XOR, /* 7: [r0 x] */
    ADD, STORE, 1,    /* 13: r1 = x + r0 */
    LOAD, 0, DEC, DUP, STORE, 0, /* 16: [r0-1] */
    JNZ, 0,           /* 22 */
    HALT,
};

static uint32_t run(uint32_t n) {
    uint32_t stack[64], regs[4] = {n, 7, 0, 0};
    int sp = 0, pc = 0;
    for (;;) {
        int32_t op = program[pc++];
        switch (op) {
        case PUSH: stack[sp++] = (uint32_t)program[pc++]; break;
        case LOAD: stack[sp++] = regs[program[pc++]]; break;
        case STORE: regs[program[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case SHR: sp--; stack[sp - 1] >>= stack[sp]; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case JNZ: { int32_t t = program[pc++]; if (stack[--sp]) pc = t; break; }
        case DEC: stack[sp - 1] -= 1; break;
        case SWAP: { uint32_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case POP: sp--; break;
        case HALT: return regs[1];
        default: return 0xdeadbeef;
        }
    }
}

int main(void) {
    volatile uint32_t n = 1000000;
    uint32_t sum = 0;
    for (int i = 0; i < 2; i++) sum ^= run(n + i);
    printf("interp checksum %u\n", sum);
    return 0;
}
