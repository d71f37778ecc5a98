//! Pure emitters from a compiled Plan to orchestrator files: GitHub Actions, Airflow, Kubeflow.
//!
//! Nothing is emitted yet; the crate holds its place in the dependency graph (it depends on the
//! compiler for the Plan types, never on the runtime).

/// The plan format version these emitters read; they refuse any other.
pub const SUPPORTED_PLAN_VERSION: u32 = mlops_compiler::plan::PLAN_VERSION;
