//! The runtime functions compiled code may call ("builtins"), declared once.
//!
//! [`for_each_builtin!`] is the single list. The compiler expands it into Cranelift signatures
//! and table indices, the runtime into a [`VMBuiltins`] table filled with its implementations
//! (type-checked against the same list), so a builtin cannot exist on one side only.
//! All builtins use the C calling convention; types are `vmctx` (`*mut VMContext`), `u32`, `u64`.
//! Builtins that fail raise a trap by unwinding through the runtime; they never return an error.
//! Addresses and lengths are `u64` so 32- and 64-bit memories and tables share one builtin.
//!
//! The entries whose first parameter is not a `vmctx` are C library functions, called with the
//! C library's own arguments (types `ptr`/`cptr`: a native `*mut`/`*const c_void`, `usize`,
//! `c_int`) and the caller's `vmctx` after them, which the C function ignores: the runtime's
//! entry needs it, like every builtin's, to keep host code off the wasm stack's guard
//! (`runtime/src/traps/enter.rs`). They cannot trap: compiled code checks their arguments first.

/// Invokes `$mac! { name(arg: ty, ...) -> ret; ... }` with every builtin.
#[macro_export]
macro_rules! for_each_builtin {
    ($mac:ident) => {
        $mac! {
            /// Returns the old size in pages, or `u64::MAX` when the memory cannot grow.
            memory_grow(vmctx: vmctx, mem: u32, delta: u64) -> u64;
            memory_fill(vmctx: vmctx, mem: u32, dst: u64, val: u32, len: u64);
            memory_copy(vmctx: vmctx, dst_mem: u32, src_mem: u32, dst: u64, src: u64, len: u64);
            memory_init(vmctx: vmctx, mem: u32, data: u32, dst: u64, src: u32, len: u32);
            data_drop(vmctx: vmctx, data: u32);
            /// Returns the old size, or `u64::MAX` when the table cannot grow.
            table_grow(vmctx: vmctx, table: u32, init: u64, delta: u64) -> u64;
            table_fill(vmctx: vmctx, table: u32, dst: u64, val: u64, len: u64);
            table_copy(vmctx: vmctx, dst_table: u32, src_table: u32, dst: u64, src: u64, len: u64);
            table_init(vmctx: vmctx, table: u32, elem: u32, dst: u64, src: u32, len: u32);
            elem_drop(vmctx: vmctx, elem: u32);
            /// Raises `trap` (a [`crate::Trap`] discriminant); never returns.
            raise_trap(vmctx: vmctx, trap: u32);
            /// Allocates an exception object for tag `tag` of the caller's instance and returns
            /// its address (an exnref); compiled code then stores the payload into it.
            exception_new(vmctx: vmctx, tag: u32) -> u64;
            /// Throws exnref `exn`: resumes at the innermost handler on the stack, or leaves wasm
            /// with `UncaughtException`; a null `exn` traps with `NullReference`. Never returns.
            throw_ref(vmctx: vmctx, exn: u64);
            /// `memory.atomic.wait32` on shared memory `mem` at byte `addr` (compiled code checked
            /// its alignment and bounds): 0 when woken, 1 when the value is not `expected`, 2 when
            /// `timeout` (an i64 of nanoseconds, negative: none) ran out.
            memory_atomic_wait32(vmctx: vmctx, mem: u32, addr: u64, expected: u32, timeout: u64) -> u32;
            /// `memory.atomic.wait64`, as `memory_atomic_wait32`.
            memory_atomic_wait64(vmctx: vmctx, mem: u32, addr: u64, expected: u64, timeout: u64) -> u32;
            /// `memory.atomic.notify` on shared memory `mem` (address checked): wakes at most
            /// `count` waiters on `addr` and returns how many it woke.
            memory_atomic_notify(vmctx: vmctx, mem: u32, addr: u64, count: u32) -> u32;
            /// Allocates an object of `bytes` bytes (a multiple of 8) for type index `ty` when
            /// the store's bump run (`VMLimits::gc_next`) is used up: may collect first. Returns
            /// its address with the header written and the rest zeroed; traps when the heap is
            /// full. Compiled code stores the fields.
            gc_alloc(vmctx: vmctx, ty: u32, bytes: u32) -> u64;
            /// `array.new_default` of array type index `ty`: a zeroed array of `len` elements.
            array_new(vmctx: vmctx, ty: u32, len: u32) -> u64;
            /// `array.new_data`: `len` elements from data segment `data` at byte `offset`.
            array_new_data(vmctx: vmctx, ty: u32, data: u32, offset: u32, len: u32) -> u64;
            /// `array.new_elem`: `len` elements from element segment `elem` at `offset`.
            array_new_elem(vmctx: vmctx, ty: u32, elem: u32, offset: u32, len: u32) -> u64;
            /// `array.init_data` of `len` elements of array type index `ty` to address `dst`
            /// (compiled code checked the array and the range in it), from byte `src` of data
            /// segment `data`.
            array_init_data(vmctx: vmctx, ty: u32, data: u32, dst: u64, src: u32, len: u32);
            /// `array.init_elem` of `len` reference elements to address `dst` (checked as for
            /// `array_init_data`) from element `src` of element segment `elem`.
            array_init_elem(vmctx: vmctx, elem: u32, dst: u64, src: u32, len: u32);
            /// `memory.copy` once compiled code has checked both ranges (`translate/memory.rs`).
            memmove(dst: ptr, src: cptr, len: usize, vmctx: vmctx) -> ptr;
            /// `memory.fill` once compiled code has checked the range.
            memset(dst: ptr, val: c_int, len: usize, vmctx: vmctx) -> ptr;
        }
    };
}

macro_rules! declare_index {
    ($( $(#[$attr:meta])* $name:ident($($arg:ident: $ty:ident),*) $(-> $ret:ident)?; )*) => {
        /// Index of each builtin in [`VMBuiltins::fns`].
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum BuiltinIndex { $($name,)* }

        impl BuiltinIndex {
            pub const ALL: &'static [BuiltinIndex] = &[$(BuiltinIndex::$name,)*];
            pub fn name(self) -> &'static str {
                match self { $(BuiltinIndex::$name => stringify!($name),)* }
            }
            /// Where compiled code passes its `vmctx` among the arguments: first, but last for
            /// the C library functions.
            pub fn vmctx_param(self) -> usize {
                match self {
                    $(BuiltinIndex::$name => {
                        let params: &[&str] = &[$(stringify!($ty)),*];
                        params.iter().position(|p| *p == "vmctx").expect("every builtin takes a vmctx")
                    })*
                }
            }
        }
    };
}
for_each_builtin!(declare_index);

/// Number of builtins.
pub const NUM_BUILTINS: usize = BuiltinIndex::ALL.len();

/// The table of builtin entry points a `VMContext` points to.
#[repr(C)]
pub struct VMBuiltins {
    pub fns: [*const u8; NUM_BUILTINS],
}

// The table is immutable after construction and only holds code addresses.
unsafe impl Sync for VMBuiltins {}
unsafe impl Send for VMBuiltins {}

impl BuiltinIndex {
    /// Offset of this builtin's pointer inside [`VMBuiltins`].
    pub fn offset(self) -> u32 {
        self as u32 * std::mem::size_of::<usize>() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::BuiltinIndex;

    #[test]
    fn only_the_c_library_functions_take_the_vmctx_last() {
        for &b in BuiltinIndex::ALL {
            let libc = matches!(b, BuiltinIndex::memmove | BuiltinIndex::memset);
            assert_eq!(b.vmctx_param(), if libc { 3 } else { 0 }, "{}", b.name());
        }
    }
}
