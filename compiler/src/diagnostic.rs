//! One type for every diagnostic of every stage, as the binary renders them.

use miette::{Diagnostic as _, Severity, SourceSpan};
use thiserror::Error;

use crate::check::CheckError;
use crate::syntax::SyntaxError;

/// A diagnostic from any stage.
#[derive(Debug, Clone, Error, miette::Diagnostic, PartialEq)]
pub enum Diagnostic {
    /// From the syntax stage.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(SyntaxError),
    /// From the check stage.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Check(CheckError),
}

impl Diagnostic {
    /// Whether it is an error (not a warning).
    pub fn is_error(&self) -> bool {
        !matches!(self.severity(), Some(Severity::Warning | Severity::Advice))
    }

    /// Its stable code, such as `mlops::check::unknown-column`.
    pub fn code_string(&self) -> String {
        self.code().map(|code| code.to_string()).unwrap_or_default()
    }

    /// The span of its first label: where the problem is.
    pub fn primary_span(&self) -> Option<SourceSpan> {
        self.labels()?.next().map(|label| *label.inner())
    }

    /// The byte offset it is reported at, for ordering.
    pub fn offset(&self) -> usize {
        self.primary_span().map_or(0, |span| span.offset())
    }

    /// Its help line.
    pub fn help_text(&self) -> Option<String> {
        self.help().map(|help| help.to_string())
    }
}
