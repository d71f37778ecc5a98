//! What a target cannot express, as diagnostics with spans on the spec: the build stage's
//! counterpart of the compiler's check errors, rendered the same way by the binary.

use miette::{Diagnostic, Severity, SourceSpan};
use thiserror::Error;

/// A spec feature a target cannot express (an error: nothing is written), or can express only
/// approximately (a warning).
#[derive(Debug, Clone, Error, Diagnostic, PartialEq)]
pub enum TargetDiagnostic {
    /// A cron expression uses syntax the target's scheduler does not take.
    #[error("{what} in schedule `{schedule}` is not supported by {target}")]
    #[diagnostic(code("mlops::target::unsupported-cron"))]
    UnsupportedCron {
        /// The target's display name.
        target: String,
        /// The schedule's name.
        schedule: String,
        /// "`L` in the day-of-month field".
        what: String,
        /// The field.
        #[label("not supported by {target}")]
        span: SourceSpan,
        /// What to write instead.
        #[help]
        help: String,
    },

    /// A schedule fires more often than the target runs scheduled workflows (actionlint refuses
    /// such a workflow, and GitHub would silently start it less often).
    #[error(
        "schedule `{schedule}` fires every {every} minutes, but {target} runs schedules at most every {limit} minutes"
    )]
    #[diagnostic(code("mlops::target::schedule-too-frequent"))]
    ScheduleTooFrequent {
        /// The target's display name.
        target: String,
        /// The schedule's name.
        schedule: String,
        /// The shortest gap between two firings, in minutes.
        every: u32,
        /// The target's limit, in minutes.
        limit: u32,
        /// The minute field.
        #[label("fires every {every} minutes")]
        span: SourceSpan,
        /// What happens instead.
        #[help]
        help: String,
    },

    /// An option of a `target` node that this target has no use for.
    #[error("`{option}` has no meaning for {target}; it is ignored")]
    #[diagnostic(code("mlops::target::ignored-option"), severity(Warning))]
    IgnoredOption {
        /// The target's display name.
        target: String,
        /// The option.
        option: String,
        /// Where it is written.
        #[label("ignored by {target}")]
        span: SourceSpan,
        /// Which targets use it.
        #[help]
        help: String,
    },

    /// A secret or variable name the target reserves for itself.
    #[error("{kind} `{name}` cannot be used with {target}: names starting with `{prefix}` are reserved")]
    #[diagnostic(code("mlops::target::reserved-name"))]
    ReservedName {
        /// The target's display name.
        target: String,
        /// "secret", "variable".
        kind: String,
        /// The name.
        name: String,
        /// The reserved prefix.
        prefix: String,
        /// The reference.
        #[label("reserved by {target}")]
        span: SourceSpan,
        /// What to do.
        #[help]
        help: String,
    },

    /// Two names that the target would treat as one.
    #[error("{what} `{name}` and `{other}` are the same {target} {thing}")]
    #[diagnostic(code("mlops::target::name-collision"))]
    NameCollision {
        /// The target's display name.
        target: String,
        /// "step", "parameter".
        what: String,
        /// The second name.
        name: String,
        /// The first name.
        other: String,
        /// "job id", "input".
        thing: String,
        /// The second declaration.
        #[label("same {thing} as `{other}`")]
        span: SourceSpan,
        /// The first declaration.
        #[label("first here")]
        first: SourceSpan,
        /// Rename one.
        #[help]
        help: String,
    },

    /// More parameters than the target can take as run inputs.
    #[error("parameter `{name}` is not a {target} run input: {target} takes at most {limit} inputs")]
    #[diagnostic(code("mlops::target::too-many-inputs"), severity(Warning))]
    TooManyInputs {
        /// The target's display name.
        target: String,
        /// The first parameter left out.
        name: String,
        /// The limit.
        limit: usize,
        /// The parameter.
        #[label("not an input of manual runs")]
        span: SourceSpan,
        /// What happens instead.
        #[help]
        help: String,
    },

    // --- Airflow ----------------------------------------------------------------------------
    /// Tasks that run in pods of their own would each see a store of their own.
    #[error("the store `{store}` is a relative path, so {target} tasks in separate pods do not share it")]
    #[diagnostic(code("mlops::target::unshared-store"), severity(Warning))]
    UnsharedStore {
        /// The target's display name.
        target: String,
        /// The store as the plan holds it.
        store: String,
        /// The store (or the `image` that puts tasks in pods).
        #[label("each pod has its own `{store}`")]
        span: SourceSpan,
        /// What to declare instead.
        #[help]
        help: String,
    },

    // --- Kubeflow ---------------------------------------------------------------------------
    /// No container image is named, so tasks run in a default one named after the project.
    #[error("no container image for {target}: every task runs in `{image}`")]
    #[diagnostic(code("mlops::target::default-image"), severity(Warning))]
    DefaultImage {
        /// The target's display name.
        target: String,
        /// The default image.
        image: String,
        /// Whether the spec has a `target "kubeflow"` node (the span is on it; otherwise on the
        /// project's name, which the default image is named after).
        declared: bool,
        /// Where the image belongs.
        #[label("{}", if *declared { "no `image` here" } else { "the image is named after the project" })]
        span: SourceSpan,
        /// What the image must hold.
        #[help]
        help: String,
    },

    /// A schedule the target's files cannot carry.
    #[error("schedule `{schedule}` is not part of the {target} pipeline")]
    #[diagnostic(code("mlops::target::unsupported-schedule"), severity(Warning))]
    UnsupportedSchedule {
        /// The target's display name.
        target: String,
        /// The schedule's name.
        schedule: String,
        /// The cron expression.
        #[label("not in the pipeline file")]
        span: SourceSpan,
        /// How to schedule runs instead.
        #[help]
        help: String,
    },
    // --- end Kubeflow -----------------------------------------------------------------------
}

impl TargetDiagnostic {
    /// Whether it is an error (not a warning).
    pub fn is_error(&self) -> bool {
        !matches!(self.severity(), Some(Severity::Warning | Severity::Advice))
    }

    /// The byte offset it is reported at, for ordering.
    pub fn offset(&self) -> usize {
        self.labels().and_then(|mut labels| labels.next()).map_or(0, |label| label.offset())
    }
}
