//! wasic's runtime: loads compiled modules (in-process through [`loader`] or linked into an
//! executable), instantiates them in a [`Store`], runs them, turns their traps into errors,
//! and provides WASI preview1 ([`wasi`]).
//!
//! ```no_run
//! # fn demo(object: &[u8]) -> Result<(), wasic_runtime::Error> {
//! use wasic_runtime::{Instance, Module, Store, Val};
//! // SAFETY: `object` comes from `wasic_compiler::compile` of this wasic version.
//! let module = unsafe { Module::from_object(object)? };
//! let mut store = Store::default();
//! let instance = Instance::new(&mut store, &module, &[])?;
//! let add = instance.get_func("add").unwrap();
//! assert_eq!(add.call(&mut store, &[Val::I32(1), Val::I32(2)])?, vec![Val::I32(3)]);
//! # Ok(()) }
//! ```
//!
//! Handles ([`Func`], [`Memory`], [`Table`], [`Global`], [`Tag`], [`ExnRef`], and the
//! [`Extern`]s and [`Val`]s holding them) belong to the store that made them. Using one with
//! another store, or after its store was dropped, is refused: a [`Error::Usage`] (or
//! [`Error::Link`] for imports) where the method returns a `Result`, a panic otherwise. An
//! [`Instance`] keeps its module and its exports' handles, so its export lookups need no store.
//!
//! The one exception is a [`SharedMemory`] (threads proposal): it belongs to no store, is `Send`
//! and `Sync`, and [`Memory::from_shared`] gives each store (on any thread) its own handle of
//! the same memory, so instances of several stores running at the same time share its bytes,
//! its length and `memory.atomic.wait`/`notify` ([`parking`]).

mod builtins;
#[cfg(feature = "compiler")]
pub mod cache;
pub mod error;
pub mod exceptions;
pub mod exec;
pub mod func;
pub mod gc;
pub mod instance;
pub mod linker;
pub mod loader;
pub mod memory;
pub mod module;
pub mod parking;
pub mod store;
pub mod sys;
pub mod table;
pub mod traps;
pub mod types;
pub mod wasi;

#[cfg(feature = "compiler")]
pub use cache::{Cache, CacheOutcome};
pub use error::{Error, TrapError};
pub use exceptions::{ExnRef, Tag};
pub use func::{Caller, Func, HostError, Val};
pub use gc::{AnyRef, GcRef};
pub use instance::{Extern, Global, Instance, InstanceState, Memory, Table};
pub use linker::Linker;
pub use memory::SharedMemory;
pub use module::Module;
pub use store::{Store, StoreConfig};
pub use wasic_abi::Trap;
