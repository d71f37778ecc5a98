//! Where the tasks of a generated pipeline find the store: each in its own checkout or
//! container, or one store they all reach.

use mlops_compiler::plan::Plan;

use crate::Options;

/// Where the tasks' store is.
pub(crate) enum StoreMode {
    /// A folder in each task's own checkout or container (the store is a relative path): every
    /// task starts with an empty store, and outputs reach other tasks only as the target's
    /// artifacts. Holds the `--store` value, relative to the output folder.
    PerTask(String),
    /// One store every task reaches (an absolute path, or an `(env)`/`(secret)` reference the
    /// task's environment resolves). Holds the `--store` value, if the plan's store is a
    /// literal.
    Shared(Option<String>),
}

impl StoreMode {
    /// The store mode of `plan`'s tasks.
    pub(crate) fn of(plan: &Plan, options: &Options) -> StoreMode {
        match plan.store.as_str() {
            Some(path) if is_shared(path) => StoreMode::Shared(Some(path.to_string())),
            Some(path) => StoreMode::PerTask(options.from_spec_dir(path)),
            None => StoreMode::Shared(None),
        }
    }

    /// The `--store` value every task passes, if any.
    pub(crate) fn flag(&self) -> Option<&str> {
        match self {
            StoreMode::PerTask(path) => Some(path.as_str()),
            StoreMode::Shared(path) => path.as_deref(),
        }
    }
}

/// Whether a literal store path is the same for every task: absolute, or a URL.
pub(crate) fn is_shared(path: &str) -> bool {
    path.starts_with('/') || path.contains("://")
}
