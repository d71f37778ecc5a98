//! The mlopsc compiler: `mlops.kdl` text → type-checked [`plan::Plan`], with every problem reported.
//!
//! Stages, each a function from the previous stage's type to its own:
//! [`syntax`] (KDL → [`ast::Spec`]), [`check`] (names, references, schemas, expressions →
//! [`check::Checked`]) and [`plan`] (lowering to the versioned Plan IR). The compiler does no IO
//! and never prints: it returns values and [`Diagnostic`]s.

pub mod ast;
pub mod check;
mod diagnostic;
pub mod expr;
mod graph;
pub mod plan;
mod suggest;
pub mod syntax;

pub use diagnostic::Diagnostic;

/// The result of compiling a spec: the plan when there were no errors, and every diagnostic.
#[derive(Debug)]
pub struct Compilation {
    /// The plan, present when no diagnostic is an error.
    pub plan: Option<plan::Plan>,
    /// Errors and warnings, ordered by position in the file.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles a spec's text. `file` is the spec's file name, recorded in the plan.
pub fn compile(source: &str, file: &str) -> Compilation {
    let (spec, syntax_errors) = syntax::parse(source);
    let (checked, check_errors) = check::check(spec);
    let mut diagnostics: Vec<Diagnostic> = syntax_errors
        .into_iter()
        .map(Diagnostic::Syntax)
        .chain(check_errors.into_iter().map(Diagnostic::Check))
        .collect();
    diagnostics.sort_by_key(|diagnostic| diagnostic.offset());
    let plan = (!diagnostics.iter().any(Diagnostic::is_error)).then(|| plan::lower(&checked, file, source));
    Compilation { plan, diagnostics }
}
