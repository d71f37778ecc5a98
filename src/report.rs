//! Diagnostics on the terminal: miette's graphical report, JSON lines, or GitHub annotations.

use clap::ValueEnum;
use miette::{Diagnostic, GraphicalReportHandler, NamedSource, Severity};
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

fn severity_name(diagnostic: &dyn Diagnostic) -> &'static str {
    match diagnostic.severity() {
        Some(Severity::Warning) => "warning",
        Some(Severity::Advice) => "advice",
        _ => "error",
    }
}

/// Whether a diagnostic is an error (not a warning or advice).
fn is_error(diagnostic: &dyn Diagnostic) -> bool {
    !matches!(diagnostic.severity(), Some(Severity::Warning | Severity::Advice))
}

/// Its stable code, such as `mlops::check::unknown-column`.
fn code_string(diagnostic: &dyn Diagnostic) -> String {
    diagnostic.code().map(|code| code.to_string()).unwrap_or_default()
}

/// Offset and length of its first label: where the problem is.
fn primary_span(diagnostic: &dyn Diagnostic) -> (usize, usize) {
    diagnostic.labels().and_then(|mut labels| labels.next()).map_or((0, 0), |label| (label.offset(), label.len()))
}

/// Prints every diagnostic in the chosen format: the compiler's, or a target's.
pub(crate) fn print<D>(spec: &SpecFile, diagnostics: &[D], format: MessageFormat)
where
    D: Diagnostic + Clone + Send + Sync + 'static,
{
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

fn json_line(spec: &SpecFile, diagnostic: &dyn Diagnostic) -> serde_json::Value {
    let (offset, length) = primary_span(diagnostic);
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
        "code": code_string(diagnostic),
        "severity": severity_name(diagnostic),
        "message": diagnostic.to_string(),
        "file": spec.display,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "span": { "offset": offset, "length": length },
        "help": diagnostic.help().map(|help| help.to_string()),
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

fn github_line(spec: &SpecFile, diagnostic: &dyn Diagnostic) -> String {
    let (offset, length) = primary_span(diagnostic);
    let (line, column) = line_column(&spec.source, offset);
    let (end_line, end_column) = line_column(&spec.source, offset + length);
    let level = if is_error(diagnostic) { "error" } else { "warning" };
    let mut message = diagnostic.to_string();
    if let Some(help) = diagnostic.help() {
        message.push_str("\nhelp: ");
        message.push_str(&help.to_string());
    }
    format!(
        "::{level} file={},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}",
        escape_property(&spec.display),
        escape_property(&code_string(diagnostic)),
        escape_data(&message)
    )
}

/// "error: 2 errors and 1 warning in mlops.kdl", when there is anything to count.
pub(crate) fn summary<D: Diagnostic>(spec: &SpecFile, diagnostics: &[D]) {
    let errors = diagnostics.iter().filter(|diagnostic| is_error(*diagnostic)).count();
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
