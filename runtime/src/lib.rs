//! The mlopsc runtime: executes a compiled Plan — scheduling, cache, store, registry, records.
//!
//! [`executor`] runs steps in dependency order through [`cache`], recording everything in the
//! [`store`] ([`records`] for runs and step runs, [`registry`] for model versions and aliases).
//! [`query`] and [`lineage`] read those records back for `mlopsc runs` and `mlopsc lineage`;
//! [`mlflow`] mirrors a finished run to an MLflow tracking server.
//! Step behaviour itself lives in `mlops-stdlib` (feature `exec`); this crate never depends on
//! `mlops-targets`.

pub mod cache;
pub mod executor;
pub mod lineage;
pub mod mlflow;
pub mod query;
pub mod records;
pub mod registry;
pub mod store;
#[cfg(test)]
mod test_support;

/// The plan format version this runtime executes; it refuses any other.
pub const SUPPORTED_PLAN_VERSION: u32 = mlops_compiler::plan::PLAN_VERSION;
