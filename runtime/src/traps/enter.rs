//! The assembly stubs that make traps recoverable, and the one that resumes in an exception
//! handler (`wasic_resume`).
//!
//! `wasic_enter` is the only way host code calls into compiled wasm: it saves the callee-saved
//! registers, records its stack pointer in `*saved_sp`, and calls an array trampoline.
//! `wasic_unwind` is where a trap resumes: the signal handler (or [`super::raise`]) sets the
//! stack pointer back to the recorded value and jumps here; it restores the registers and makes
//! `wasic_enter` return 1 instead of 0. No Rust frame lies between the two, so skipping the
//! wasm frames is sound.

use std::arch::global_asm;

// wasic_enter(tramp: rdi, callee_vmctx: rsi, caller_vmctx: rdx, func_ptr: rcx, values: r8,
//             saved_sp: r9) -> eax (0: returned normally, 1: unwound by a trap)
global_asm!(
    ".text",
    ".globl wasic_enter",
    ".type wasic_enter,@function",
    ".p2align 4",
    "wasic_enter:",
    "push rbp",
    "mov rbp, rsp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "mov [r9], rsp",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "mov rdx, rcx",
    "mov rcx, r8",
    "call rax",
    "xor eax, eax",
    "2:",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".size wasic_enter, .-wasic_enter",
    "",
    ".globl wasic_unwind",
    ".type wasic_unwind,@function",
    ".p2align 4",
    "wasic_unwind:",
    "mov eax, 1",
    "jmp 2b",
    ".size wasic_unwind, .-wasic_unwind",
    "",
    // wasic_unwind_to(sp: rdi): abandon the current frames and resume at wasic_unwind.
    ".globl wasic_unwind_to",
    ".type wasic_unwind_to,@function",
    ".p2align 4",
    "wasic_unwind_to:",
    "mov rsp, rdi",
    "jmp wasic_unwind",
    ".size wasic_unwind_to, .-wasic_unwind_to",
    "",
    // wasic_resume(pc: rdi, sp: rsi, fp: rdx, exn: rcx): continue in an exception handler of
    // compiled code, which expects its frame's sp/fp and the exnref in rax.
    ".globl wasic_resume",
    ".type wasic_resume,@function",
    ".p2align 4",
    "wasic_resume:",
    "mov rax, rcx",
    "mov rsp, rsi",
    "mov rbp, rdx",
    "jmp rdi",
    ".size wasic_resume, .-wasic_resume",
);

unsafe extern "C" {
    pub fn wasic_enter(
        tramp: *const u8,
        callee_vmctx: *mut u8,
        caller_vmctx: *mut u8,
        func_ptr: *const u8,
        values: *mut wasic_abi::ValRaw,
        saved_sp: *mut usize,
    ) -> u32;
    pub fn wasic_unwind();
    pub fn wasic_unwind_to(sp: usize) -> !;
    pub fn wasic_resume(pc: usize, sp: usize, fp: usize, exn: usize) -> !;
}
