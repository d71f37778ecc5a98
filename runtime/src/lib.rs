//! The mlopsc runtime: executes a compiled Plan — scheduling, cache, store, registry.
//!
//! Nothing runs yet; the crate holds its place in the dependency graph (it depends on the
//! compiler for the Plan types and on the stdlib for step signatures, never on `targets`).

/// The plan format version this runtime executes; it refuses any other.
pub const SUPPORTED_PLAN_VERSION: u32 = mlops_compiler::plan::PLAN_VERSION;
