//! Where the spec and the store are: `--store DIR`, else the spec's `store`, else `.mlops`.

use std::path::{Path, PathBuf};

use mlops_compiler::plan::Plan;
use mlops_runtime::store::Store;

use crate::Outcome;

/// The store a plan declares, relative to the spec's folder: a path, or `(env)"NAME"`.
pub(crate) fn store_dir(plan: &Plan, project_dir: &Path, flag: Option<&Path>) -> Result<PathBuf, Outcome> {
    if let Some(flag) = flag {
        return Ok(flag.to_path_buf());
    }
    let uri = match &plan.store {
        serde_json::Value::String(uri) => uri.clone(),
        serde_json::Value::Object(reference) => {
            let name = reference.values().next().and_then(|value| value.as_str()).unwrap_or_default();
            match std::env::var(name) {
                Ok(value) => value,
                Err(_) => {
                    crate::output::stderr_line(&format!(
                        "error: the spec's store is `(env)\"{name}\"`, but `{name}` is not set\nhelp: export {name}=/path/to/store, or pass --store DIR"
                    ));
                    return Err(Outcome::UsageError);
                }
            }
        }
        _ => ".mlops".to_string(),
    };
    if uri.contains("://") {
        crate::output::stderr_line(&format!(
            "error: store `{uri}`: only local folders are supported by this mlopsc\nhelp: use a path such as \".mlops\", or pass --store DIR"
        ));
        return Err(Outcome::UsageError);
    }
    Ok(project_dir.join(uri))
}

/// The folder holding the spec (`.` for a bare file name).
pub(crate) fn project_dir(spec: &Path) -> PathBuf {
    match spec.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Opens a store, printing why it could not be opened.
pub(crate) fn open(dir: &Path) -> Result<Store, Outcome> {
    Store::open(dir).map_err(|error| {
        crate::output::stderr_line(&format!("error: {error}"));
        Outcome::UserError
    })
}

/// The store for commands that only read it: `--store`, else the one `--spec` declares
/// (default `mlops.kdl` here when it exists), else `.mlops`.
pub(crate) fn store_for_queries(spec: &Path, flag: Option<&Path>) -> Result<Store, Outcome> {
    if let Some(flag) = flag {
        if !flag.join("mlops.db").is_file() {
            crate::output::stderr_line(&format!("error: `{}` is not an mlopsc store (no mlops.db)", flag.display()));
            return Err(Outcome::UsageError);
        }
        return open(flag);
    }
    // No spec here is fine (the store may be all there is); an unreadable one is reported.
    let plan = if spec.exists() {
        crate::cli::read_spec(spec).ok().and_then(|file| mlops_compiler::compile(&file.source, &file.file_name).plan)
    } else {
        None
    };
    let dir = match plan {
        Some(plan) => store_dir(&plan, &project_dir(spec), None)?,
        None => PathBuf::from(".mlops"),
    };
    if !dir.join("mlops.db").is_file() {
        crate::output::stderr_line(&format!(
            "error: no store at `{}`\nhelp: run the pipeline first (`mlopsc run`), or pass --store DIR",
            dir.display()
        ));
        return Err(Outcome::UsageError);
    }
    open(&dir)
}

/// `--store DIR` and `--spec SPEC`: which store the record-reading commands (`runs`, `models`,
/// `lineage`) use.
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The store folder (default: the store the spec declares, else .mlops)
    #[arg(long, value_name = "DIR")]
    pub(crate) store: Option<PathBuf>,
    /// The spec whose store to use
    #[arg(long, value_name = "SPEC", default_value = "mlops.kdl")]
    pub(crate) spec: PathBuf,
}

impl StoreArgs {
    /// Opens the store, printing why it cannot be.
    pub(crate) fn open(&self) -> Result<Store, Outcome> {
        store_for_queries(&self.spec, self.store.as_deref())
    }
}

/// Prints a store error (with `help` when the thing asked for does not exist); exit status 1.
pub(crate) fn store_error(error: mlops_runtime::store::StoreError, help: &str) -> Outcome {
    match error {
        mlops_runtime::store::StoreError::NotFound(message) if !help.is_empty() => {
            crate::output::stderr_line(&format!("error: {message}\nhelp: {help}"));
        }
        other => crate::output::stderr_line(&format!("error: {other}")),
    }
    Outcome::UserError
}

/// Runs `work` on a new connection to `store`, printing any error (with `help` when something
/// asked for does not exist).
pub(crate) fn with_connection<T>(
    store: &Store,
    help: &str,
    work: impl FnOnce(&mut mlops_runtime::store::Connection) -> Result<T, mlops_runtime::store::StoreError>,
) -> Result<T, Outcome> {
    let mut connection = store.connect().map_err(|error| store_error(error, ""))?;
    work(&mut connection).map_err(|error| store_error(error, help))
}
