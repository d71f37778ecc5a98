//! What each built-in step kind does when it runs (feature `exec`): polars for tables, XGBoost
//! for models.
//!
//! The runtime resolves a plan step's inputs to files, hands this module a [`StepContext`]
//! and moves the files written to `ctx.outputs` into the store. A kind's implementation reads
//! only its params, its input files and (for `ingest` and custom steps) the project folder; it
//! writes only its output paths. It never touches the store, so `mlopsc run` and
//! `mlopsc step run` in an orchestrator execute exactly the same code.
//!
//! Artifact formats: tables are Parquet files, models XGBoost JSON, every other output (reports,
//! fitted statistics, best parameters) a JSON document.

pub mod command;
pub mod evaluate;
pub mod ingest;
pub mod metrics;
pub mod package;
pub mod split;
pub mod table;
pub mod train;
pub mod transform;
pub mod tune;
pub mod validate;
pub mod xgboost;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Everything a step implementation may look at.
pub struct StepContext<'a> {
    /// The plan step's id, such as `train.churn`.
    pub step_id: &'a str,
    /// Its kind, such as `train`.
    pub kind: &'a str,
    /// Its resolved parameters, as in the plan.
    pub params: &'a BTreeMap<String, Json>,
    /// Input name → file. Tables are Parquet, models XGBoost JSON, files JSON. `evaluate`
    /// also gets `compare_to.N` → the evaluation report of the model currently under the N-th
    /// `compare-to` alias, when there is one.
    pub inputs: &'a BTreeMap<String, PathBuf>,
    /// Output name → where to write it. The runtime moves each into the store afterwards.
    pub outputs: &'a BTreeMap<String, PathBuf>,
    /// The spec's folder: source paths and commands are relative to it.
    pub project_dir: &'a Path,
    /// Threads the step may use (polars and XGBoost).
    pub threads: usize,
    /// Progress and log lines for the user.
    pub log: &'a (dyn Fn(&str) + Sync),
    /// Set when the user pressed Ctrl-C or the process got SIGTERM: stop soon, write nothing.
    pub cancel: &'a AtomicBool,
}

impl std::fmt::Debug for StepContext<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StepContext")
            .field("step_id", &self.step_id)
            .field("kind", &self.kind)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

impl StepContext<'_> {
    /// The input file called `name`, or an internal error naming the step (the plan and the
    /// runtime guarantee every declared input is present).
    pub fn input(&self, name: &str) -> Result<&Path, StepError> {
        self.inputs
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| StepError::Internal(format!("step `{}` was given no input `{name}`", self.step_id)))
    }

    /// The output path called `name`.
    pub fn output(&self, name: &str) -> Result<&Path, StepError> {
        self.outputs
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| StepError::Internal(format!("step `{}` was given no output path `{name}`", self.step_id)))
    }

    /// A parameter deserialized into `T`; a mismatch is our bug (the checker validated it).
    pub fn param<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, StepError> {
        let value = self.params.get(name).cloned().unwrap_or(Json::Null);
        serde_json::from_value(value).map_err(|error| {
            StepError::Internal(format!(
                "parameter `{name}` of step `{}` has an unexpected shape: {error}",
                self.step_id
            ))
        })
    }

    /// Fails with [`StepError::Cancelled`] once the run is being stopped.
    pub fn check_cancelled(&self) -> Result<(), StepError> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(StepError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The `blake3:` hash and size of the bytes of the file at `path`, hashed on every core
/// (BLAKE3's tree hashing gives the same hash however the work is split): every source and
/// code file of a run goes through it, cached or not, and so does any artifact not hashed as
/// it was written. A file of 16 KiB or more is memory-mapped rather than read, which spares
/// copying it (with the 147 MB CSV of the 1M benchmark, a cached run took 30 ms instead of
/// 50 ms); as with any mapped file, another program truncating it meanwhile stops mlopsc with
/// SIGBUS.
pub fn hash_file(path: &std::path::Path) -> std::io::Result<FileHash> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_mmap_rayon(path)?;
    Ok(FileHash { hash: format!("blake3:{}", hasher.finalize().to_hex()), bytes: hasher.count() })
}

/// `work` applied to every item on polars' thread pool (one task an item: a column, say),
/// results in the items' order. Fails with the error of the first item that has one, as a
/// loop would, whichever finished first.
pub(crate) fn on_every_core<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<R, StepError> + Sync,
) -> Result<Vec<R>, StepError> {
    use rayon::prelude::*;
    let results: Vec<Result<R, StepError>> =
        polars_core::runtime::RAYON.install(|| items.par_iter().map(&work).collect());
    results.into_iter().collect()
}

/// A source file read by `ingest`, as recorded for data versioning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// The path, relative to the project folder, as matched.
    pub path: String,
    /// `blake3:` hash of its bytes.
    pub hash: String,
    /// Its size.
    pub bytes: u64,
}

/// What a step reports besides its output files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Rows processed (the main table's rows), when it has a table.
    pub rows: Option<u64>,
    /// Metrics to record with the run (`evaluate`'s metrics, `train`'s best iteration…).
    pub metrics: BTreeMap<String, f64>,
    /// Notes for the user ("validation: 2 warnings", "no model under churn@production yet").
    pub notes: Vec<String>,
    /// Output name → the hash of what the step wrote there, taken as it wrote it, so that the
    /// runtime need not read the file again to store it (it checks the size). Outputs left
    /// out are hashed by the runtime.
    #[serde(default)]
    pub hashes: BTreeMap<String, FileHash>,
}

/// A file's `blake3:` hash and size (the runtime stores files under it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// `blake3:<hex>`.
    pub hash: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The data does not satisfy what the spec says (a validation failure, a column of the wrong
    /// type, a single-class label, every row filtered out). `details` name columns, counts and
    /// example rows.
    #[error("{message}")]
    Data {
        /// One line.
        message: String,
        /// Further lines: per-column problems, example rows.
        details: Vec<String>,
    },
    /// A gate or a champion comparison failed.
    #[error("{0}")]
    Gate(String),
    /// A file could not be read or written.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// "read", "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// polars reported an error.
    #[error("{context}: {message}")]
    Polars {
        /// What was being done.
        context: String,
        /// polars' message.
        message: String,
    },
    /// XGBoost reported an error.
    #[error("xgboost: {0}")]
    Xgboost(String),
    /// A custom step's command failed.
    #[error("{0}")]
    Command(String),
    /// The run is being stopped.
    #[error("cancelled")]
    Cancelled,
    /// A broken invariant: our bug, not the user's.
    #[error("internal error: {0} (this is a bug in mlopsc; please report it)")]
    Internal(String),
}

impl StepError {
    /// A polars error with context.
    pub fn polars(context: impl Into<String>, error: impl std::fmt::Display) -> StepError {
        StepError::Polars { context: context.into(), message: error.to_string() }
    }

    /// A data error without details.
    pub fn data(message: impl Into<String>) -> StepError {
        StepError::Data { message: message.into(), details: Vec::new() }
    }
}

/// Whether a step of this kind takes its working memory from the program's allocator, so
/// that it can reuse the memory earlier steps freed. The runtime lets that memory stay with
/// the allocator between such steps, and hands it back to the operating system before any
/// other: `train` and `tune` build XGBoost's matrices with C++'s allocator, and `step` runs
/// another process. (`evaluate` calls XGBoost only for the few models its own tree walk does
/// not cover, and then for its predictions alone.)
pub fn allocates_in_rust(kind: &str) -> bool {
    matches!(kind, "ingest" | "validate" | "transform" | "split" | "evaluate" | "package" | "register")
}

/// Runs one step. The runtime calls this for every kind except `register` (a store operation)
/// and `serve` (a service).
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    ctx.check_cancelled()?;
    match ctx.kind {
        "ingest" => ingest::run(ctx),
        "validate" => validate::run(ctx),
        "transform" => transform::run(ctx),
        "split" => split::run(ctx),
        "tune" => tune::run(ctx),
        "train" => train::run(ctx),
        "evaluate" => evaluate::run(ctx),
        "package" => package::run(ctx),
        "step" => command::run(ctx),
        other => Err(StepError::Internal(format!("no implementation for step kind `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_steps_that_allocate_in_rust_keep_the_memory_earlier_steps_freed() {
        for kind in ["ingest", "validate", "transform", "split", "evaluate", "package", "register"] {
            assert!(super::allocates_in_rust(kind), "{kind}");
        }
        // XGBoost's matrices, another process, and any kind not listed start from released memory.
        for kind in ["train", "tune", "step", "serve", "monitor", ""] {
            assert!(!super::allocates_in_rust(kind), "{kind}");
        }
    }

    #[test]
    fn a_file_hashes_as_its_bytes_do_read_or_mapped() {
        let dir = tempfile::tempdir().unwrap();
        // BLAKE3 reads files under 16 KiB and maps longer ones.
        for size in [0, 5, 16_383, 16_384, (4 << 20) + 12_345] {
            let bytes: Vec<u8> = (0..size).map(|index| (index * 31 % 251) as u8).collect();
            let path = dir.path().join(format!("f{size}"));
            std::fs::write(&path, &bytes).unwrap();
            let expected = format!("blake3:{}", blake3::hash(&bytes).to_hex());
            assert_eq!(super::hash_file(&path).unwrap(), super::FileHash { hash: expected, bytes: size as u64 });
        }
        assert!(super::hash_file(&dir.path().join("missing")).is_err());
    }
}
