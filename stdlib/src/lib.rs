//! The built-in step kinds of mlopsc: one signature per kind, shared by the checker and the runtime.
//!
//! [`vocabulary`] is the single table of nodes, options, defaults and ranges; [`signature`] holds
//! the types that table is written in, [`column_type`] the language's column types. The runtime's
//! implementations of each kind live beside them in `exec` (behind the `exec` feature), so a
//! kind's signature and its behaviour cannot drift apart.

pub mod column_type;
#[cfg(feature = "exec")]
pub mod exec;
pub mod expr;
pub mod signature;
pub mod vocabulary;
