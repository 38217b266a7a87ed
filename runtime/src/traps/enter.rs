//! The assembly stubs between host code and compiled wasm: entering it (`wasic_enter`), leaving
//! it abruptly after a trap (`wasic_unwind`), resuming in an exception handler (`wasic_resume`),
//! and calling host code from it (`wasic_host_call`, behind every builtin and host function).
//!
//! `wasic_enter` is the only way host code calls into compiled wasm: it saves the callee-saved
//! registers, records its stack pointer in `*saved_sp`, switches to the thread's wasm stack if
//! asked to (the outermost entry, see `stack.rs`), and calls an array trampoline. Its frame
//! pointer stays the caller's frame on the host stack, so a frame-pointer walk (and, through
//! its CFI, a DWARF unwinder) crosses from the wasm frames back to the host. `wasic_unwind` is
//! where a trap resumes: the signal handler (or [`super::raise`]) sets the stack pointer back
//! to the recorded value, on the host stack, and jumps here; it restores the registers and
//! makes `wasic_enter` return 1 instead of 0. No Rust frame lies between the two, so skipping
//! the wasm frames is sound.
//!
//! `wasic_host_call` runs host code for compiled code without letting it near the wasm stack's
//! guard: with less than `HOST_STACK_RESERVE` left above `VMLimits::stack_limit` it calls the
//! host function on the host reserve (`VMLimits::host_stack`). It touches no stack memory
//! before switching, so it cannot fault on the guard itself. On the reserve it builds a frame
//! that looks as if compiled code had called the host function directly (the return address
//! into compiled code above the caller's frame pointer), so backtraces, the exception unwinder
//! and the exception collector see an unbroken chain; the reserve's top word keeps the stack
//! pointer to return to.

use super::stack::HOST_STACK_RESERVE;
use std::arch::global_asm;
use wasic_abi::vmctx::{VMContext, VMHostContext, VMOffsets};
use wasic_abi::ValRaw;

// wasic_enter(tramp: rdi, callee_vmctx: rsi, caller_vmctx: rdx, func_ptr: rcx, values: r8,
//             saved_sp: r9, stack: [rsp + 8]) -> eax (0: returned normally, 1: unwound by a trap)
// `stack`: the 16-byte aligned stack pointer to call the trampoline with, or 0 to stay.
global_asm!(
    ".text",
    ".globl wasic_enter",
    ".hidden wasic_enter",
    ".type wasic_enter,@function",
    ".p2align 4",
    "wasic_enter:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    ".cfi_offset rbx, -24",
    ".cfi_offset r12, -32",
    ".cfi_offset r13, -40",
    ".cfi_offset r14, -48",
    ".cfi_offset r15, -56",
    "sub rsp, 8",
    "mov [r9], rsp",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "mov rdx, rcx",
    "mov rcx, r8",
    "mov r10, [rbp + 16]",
    "test r10, r10",
    "jz 1f",
    "mov rsp, r10",
    "1:",
    "call rax",
    // Back on the host stack, where `saved_sp` points.
    "lea rsp, [rbp - 48]",
    "xor eax, eax",
    "2:",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size wasic_enter, .-wasic_enter",
    "",
    ".globl wasic_unwind",
    ".hidden wasic_unwind",
    ".type wasic_unwind,@function",
    ".p2align 4",
    "wasic_unwind:",
    "mov eax, 1",
    "jmp 2b",
    ".size wasic_unwind, .-wasic_unwind",
    "",
    // wasic_unwind_to(sp: rdi): abandon the current frames and resume at wasic_unwind.
    ".globl wasic_unwind_to",
    ".hidden wasic_unwind_to",
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
    ".hidden wasic_resume",
    ".type wasic_resume,@function",
    ".p2align 4",
    "wasic_resume:",
    "mov rax, rcx",
    "mov rsp, rsi",
    "mov rbp, rdx",
    "jmp rdi",
    ".size wasic_resume, .-wasic_resume",
    "",
    // wasic_host_call: the common part of every host entry. Entered by a jump with the stack
    // as compiled code's call left it, the host function's arguments in their registers, r11
    // the `VMContext` whose limits apply and r10 the host function (C convention, at most six
    // integer arguments, so none on the stack).
    ".globl wasic_host_call",
    ".hidden wasic_host_call",
    ".type wasic_host_call,@function",
    ".p2align 4",
    "wasic_host_call:",
    ".cfi_startproc",
    "mov r11, [r11 + {limits}]",
    "lea rax, [rsp - {reserve}]",
    "cmp rax, [r11 + {stack_limit}]",
    "jb 1f",
    "jmp r10",
    "1:",
    "mov rax, rsp",
    "mov rsp, [r11 + {host_stack}]",
    "push rax",
    "push qword ptr [rax]",
    "push rbp",
    "mov rbp, rsp",
    // The caller's frame is at *(rbp + 16) + 8; rbp is saved at [rbp] (DWARF expressions:
    // DW_CFA_def_cfa_expression (DW_OP_breg6 16; DW_OP_deref; DW_OP_plus_uconst 8) and
    // DW_CFA_expression rbp (DW_OP_breg6 0)).
    ".cfi_escape 0x0f, 0x05, 0x76, 0x10, 0x06, 0x23, 0x08",
    ".cfi_escape 0x10, 0x06, 0x02, 0x76, 0x00",
    "sub rsp, 8",
    "call r10",
    "mov rsp, [rbp + 16]",
    "mov rbp, [rbp]",
    ".cfi_def_cfa rsp, 8",
    ".cfi_same_value rbp",
    "ret",
    ".cfi_endproc",
    ".size wasic_host_call, .-wasic_host_call",
    limits = const VMOffsets::LIMITS,
    stack_limit = const VMOffsets::LIMITS_STACK_LIMIT,
    host_stack = const VMOffsets::LIMITS_HOST_STACK,
    reserve = const HOST_STACK_RESERVE,
);

/// The entry of host function `$target` (C convention, its `VMContext` argument in register
/// `$vmctx`) for compiled code: `wasic_host_call` with that function. Evaluates to the entry's
/// address.
macro_rules! host_entry {
    ($target:path, $vmctx:expr) => {{
        #[unsafe(naked)]
        unsafe extern "C" fn entry() {
            core::arch::naked_asm!(
                concat!("mov r11, ", $vmctx),
                "lea r10, [rip + {target}]",
                "jmp {host_call}",
                target = sym $target,
                host_call = sym $crate::traps::enter::wasic_host_call,
            )
        }
        entry as *const u8
    }};
}
pub(crate) use host_entry;

/// What host adapters call for every host function ([`VMHostContext::func`]): the runtime's
/// `host_trampoline` through `wasic_host_call`, with the caller's limits.
///
/// # Safety
/// Called by host adapters only (see `wasic_abi::vmctx`, "Calling conventions").
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn host_function_entry(
    _host: *mut VMHostContext,
    _caller: *mut VMContext,
    _values: *mut ValRaw,
    _len: usize,
) {
    core::arch::naked_asm!(
        "mov r11, rsi",
        "lea r10, [rip + {target}]",
        "jmp {host_call}",
        target = sym crate::func::host_trampoline,
        host_call = sym wasic_host_call,
    )
}

unsafe extern "C" {
    pub fn wasic_enter(
        tramp: *const u8,
        callee_vmctx: *mut u8,
        caller_vmctx: *mut u8,
        func_ptr: *const u8,
        values: *mut wasic_abi::ValRaw,
        saved_sp: *mut usize,
        stack: usize,
    ) -> u32;
    pub fn wasic_unwind();
    pub fn wasic_unwind_to(sp: usize) -> !;
    pub fn wasic_resume(pc: usize, sp: usize, fp: usize, exn: usize) -> !;
    pub fn wasic_host_call();
}
