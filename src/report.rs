//! Diagnostics on the terminal: miette's graphical report, JSON lines, or GitHub annotations.

use clap::ValueEnum;
use miette::{Diagnostic as _, GraphicalReportHandler, NamedSource, Severity};
use mlops_compiler::Diagnostic;
use serde_json::json;

use crate::cli::SpecFile;

/// How `mlopsc check` prints diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MessageFormat {
    /// Source excerpts with labels and help, on stderr
    Human,
    /// One JSON object per diagnostic, one per line, on stdout
    Json,
    /// GitHub Actions `::error` / `::warning` annotations, on stdout
    Github,
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn severity_name(diagnostic: &Diagnostic) -> &'static str {
    match diagnostic.severity() {
        Some(Severity::Warning) => "warning",
        Some(Severity::Advice) => "advice",
        _ => "error",
    }
}

/// Prints every diagnostic in the chosen format.
pub(crate) fn print(spec: &SpecFile, diagnostics: &[Diagnostic], format: MessageFormat) {
    match format {
        MessageFormat::Human => {
            let handler = GraphicalReportHandler::new().with_width(100);
            for diagnostic in diagnostics {
                let report = miette::Report::new(diagnostic.clone())
                    .with_source_code(NamedSource::new(&spec.display, spec.source.clone()));
                let mut text = String::new();
                if handler.render_report(&mut text, report.as_ref()).is_ok() {
                    crate::output::stderr_line(&text);
                }
            }
        }
        MessageFormat::Json => {
            for diagnostic in diagnostics {
                crate::output::stdout(&format!("{}\n", json_line(spec, diagnostic)));
            }
        }
        MessageFormat::Github => {
            for diagnostic in diagnostics {
                crate::output::stdout(&format!("{}\n", github_line(spec, diagnostic)));
            }
        }
    }
}

fn json_line(spec: &SpecFile, diagnostic: &Diagnostic) -> serde_json::Value {
    let span = diagnostic.primary_span();
    let (offset, length) = span.map_or((0, 0), |span| (span.offset(), span.len()));
    let (line, column) = line_column(&spec.source, offset);
    let (end_line, end_column) = line_column(&spec.source, offset + length);
    let labels: Vec<serde_json::Value> = diagnostic
        .labels()
        .map(|labels| {
            labels
                .map(|label| {
                    let (line, column) = line_column(&spec.source, label.offset());
                    json!({
                        "message": label.label(),
                        "line": line,
                        "column": column,
                        "span": { "offset": label.offset(), "length": label.len() },
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "code": diagnostic.code_string(),
        "severity": severity_name(diagnostic),
        "message": diagnostic.to_string(),
        "file": spec.display,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "span": { "offset": offset, "length": length },
        "help": diagnostic.help_text(),
        "labels": labels,
    })
}

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn github_line(spec: &SpecFile, diagnostic: &Diagnostic) -> String {
    let span = diagnostic.primary_span();
    let (offset, length) = span.map_or((0, 0), |span| (span.offset(), span.len()));
    let (line, column) = line_column(&spec.source, offset);
    let (end_line, end_column) = line_column(&spec.source, offset + length);
    let level = if diagnostic.is_error() { "error" } else { "warning" };
    let mut message = diagnostic.to_string();
    if let Some(help) = diagnostic.help_text() {
        message.push_str("\nhelp: ");
        message.push_str(&help);
    }
    format!(
        "::{level} file={},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}",
        escape_property(&spec.display),
        escape_property(&diagnostic.code_string()),
        escape_data(&message)
    )
}

/// "error: 2 errors and 1 warning in mlops.kdl", when there is anything to count.
pub(crate) fn summary(spec: &SpecFile, diagnostics: &[Diagnostic]) {
    let errors = diagnostics.iter().filter(|diagnostic| diagnostic.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => {}
        (0, warnings) => {
            crate::output::stderr_line(&format!("warning: {} in {}", plural(warnings, "warning"), spec.display))
        }
        (errors, 0) => crate::output::stderr_line(&format!("error: {} in {}", plural(errors, "error"), spec.display)),
        (errors, warnings) => crate::output::stderr_line(&format!(
            "error: {} and {} in {}",
            plural(errors, "error"),
            plural(warnings, "warning"),
            spec.display
        )),
    }
}
