//! The mlopsc compiler: `mlops.kdl` text → type-checked [`plan::Plan`], with every problem reported.
//!
//! Stages, each a function from the previous stage's type to its own:
//! [`syntax`] (KDL → [`ast::Spec`]), [`check`] (names, references, schemas, expressions →
//! [`check::Checked`]) and [`plan`] (lowering to the versioned Plan IR). The compiler does no IO
//! and never prints: it returns values and [`Diagnostic`]s.

pub mod ast;
pub mod check;
mod diagnostic;
/// The expression language lives in the stdlib, beside the steps that evaluate it.
pub use mlops_stdlib::expr;
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
    compile_parsed(syntax::parse(source), file, source)
}

/// Compiles a spec with parameter values given on the command line (`--set name=value`).
/// Each value is read as its parameter's declared type. An unknown name or a value of the
/// wrong type is refused before anything is checked, with one message per problem.
pub fn compile_with_params(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
) -> Result<Compilation, Vec<String>> {
    let (mut spec, syntax_errors) = syntax::parse(source);
    if !syntax_errors.is_empty() {
        return Ok(compile_parsed((spec, syntax_errors), file, source));
    }
    let mut problems = Vec::new();
    for (name, text) in overrides {
        let names: Vec<String> = spec.params.iter().map(|param| param.name.value.clone()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let Some(param) = spec.params.iter_mut().find(|param| param.name.value == *name) else {
            let hint = suggest::did_you_mean(name, &names).unwrap_or_else(|| {
                if names.is_empty() {
                    "the spec declares no `params`".to_string()
                } else {
                    format!("the parameters are {}", suggest::one_of(&names))
                }
            });
            problems.push(format!("--set {name}={text}: no parameter `{name}`; {hint}"));
            continue;
        };
        let parsed = match &param.value.value {
            ast::Value::Int(_) => text.trim().parse().map(ast::Value::Int).map_err(|_| "an integer"),
            ast::Value::Float(_) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .map(ast::Value::Float)
                .ok_or("a number"),
            ast::Value::Bool(_) => match text.trim() {
                "true" | "#true" => Ok(ast::Value::Bool(true)),
                "false" | "#false" => Ok(ast::Value::Bool(false)),
                _ => Err("`true` or `false`"),
            },
            _ => Ok(ast::Value::Str(text.clone())),
        };
        match parsed {
            Ok(value) => param.value.value = value,
            Err(expected) => problems.push(format!(
                "--set {name}={text}: `{name}` is {}, so the value must be {expected}",
                param.value.value.describe()
            )),
        }
    }
    if problems.is_empty() {
        Ok(compile_parsed((spec, syntax_errors), file, source))
    } else {
        Err(problems)
    }
}

fn compile_parsed(parsed: (ast::Spec, Vec<syntax::SyntaxError>), file: &str, source: &str) -> Compilation {
    let (spec, syntax_errors) = parsed;
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
