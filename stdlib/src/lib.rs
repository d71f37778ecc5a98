//! The built-in step kinds of mlopsc: one signature per kind, shared by the checker and the runtime.
//!
//! [`vocabulary`] is the single table of nodes, options, defaults and ranges; [`signature`] holds
//! the types that table is written in. The runtime's implementations of each kind will live
//! beside it, so a kind's signature and its behaviour cannot drift apart.

#[cfg(feature = "exec")]
pub mod exec;
pub mod expr;
pub mod signature;
pub mod vocabulary;
