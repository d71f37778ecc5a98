//! `step`: a custom command, typed at its boundary.
//!
//! The command (`run`) runs through `sh -c` in the project folder. `{inputs.NAME}` and
//! `{outputs.NAME}` become absolute, shell-quoted paths: a table input is handed over as a CSV
//! copy, other inputs (models, files) as they are; a table output is a `.csv` path in a
//! temporary folder beside the outputs, read back afterwards (as Parquet if the command wrote
//! Parquet there), checked against its declared schema and stored as Parquet; a file or model
//! output is written by the command where the runtime wants it. `env` values are literal text,
//! `{"env": NAME}` or `{"secret": NAME}` — the latter two read from this process's environment
//! when the step runs, every missing one named in one error.
//!
//! The command's stdout and stderr lines go to the step's log as they come. Cancelling the run
//! stops the command's whole process group. A non-zero exit is a [`StepError::Command`] with
//! the exit status and the last lines of stderr.
//!
//! Which inputs and outputs are tables: the `input_kinds`/`output_kinds` params
//! (`{name: "table" | "file" | "model"}`) when the plan gives them; otherwise an input is a
//! table when its file is Parquet, and an output when it has an entry in `output_schemas`
//! (`{name: [{name, type, nullable, levels?}]}`) or its path ends in `.parquet`.

mod process;
mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value as Json;

use super::table;
use super::train::preprocess::SchemaColumn;
use super::{StepContext, StepError, StepResult};

/// Runs a custom `step`.
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let command: String = ctx.param("run")?;
    let env = resolve_env(ctx, &ctx.param::<Option<BTreeMap<String, Json>>>("env")?.unwrap_or_default())?;
    let schemas: BTreeMap<String, Vec<SchemaColumn>> = ctx.param::<Option<_>>("output_schemas")?.unwrap_or_default();
    let input_kinds: BTreeMap<String, String> = ctx.param::<Option<_>>("input_kinds")?.unwrap_or_default();
    let output_kinds: BTreeMap<String, String> = ctx.param::<Option<_>>("output_kinds")?.unwrap_or_default();

    let work = WorkDir::create(ctx)?;
    let mut inputs = BTreeMap::new();
    for (name, path) in ctx.inputs {
        let is_table = match input_kinds.get(name) {
            Some(kind) => kind == "table",
            None => is_parquet(path),
        };
        let handed = if is_table {
            let csv = work.path.join(format!("input-{name}.csv"));
            table::write_csv(&table::read_parquet(path)?, &csv)?;
            csv
        } else {
            path.clone()
        };
        inputs.insert(name.clone(), absolute(&handed));
    }
    let mut outputs = BTreeMap::new();
    let mut table_outputs = Vec::new();
    for (name, path) in ctx.outputs {
        let is_table = match output_kinds.get(name) {
            Some(kind) => kind == "table",
            None => schemas.contains_key(name) || path.extension().is_some_and(|extension| extension == "parquet"),
        };
        let written = if is_table {
            table_outputs.push(name.clone());
            work.path.join(format!("{name}.csv"))
        } else {
            path.clone()
        };
        outputs.insert(name.clone(), absolute(&written));
    }

    let command_line = substitute(&command, &inputs, &outputs)?;
    (ctx.log)(&format!("$ {command_line}"));
    process::execute(ctx, &command_line, &env)?;

    let mut result = StepResult::default();
    for (name, path) in &outputs {
        if !path.exists() {
            return Err(StepError::Command(format!(
                "the command finished but did not write output `{name}`: nothing at `{}`",
                path.display()
            )));
        }
    }
    for name in &table_outputs {
        let written = &outputs[name];
        let read = if is_parquet(written) { table::read_parquet(written)? } else { table::read_table(written)? };
        let checked = match schemas.get(name) {
            Some(columns) => schema::conform(read, columns, name)?,
            None => table::normalize_categories(read)?,
        };
        result.rows.get_or_insert(checked.height() as u64);
        result.notes.push(format!("output `{name}`: {} rows", checked.height()));
        table::write_parquet(&checked, ctx.output(name)?)?;
    }
    Ok(result)
}

/// The command's environment: every `env` entry resolved, or one error naming every variable
/// that is not set.
fn resolve_env(ctx: &StepContext, env: &BTreeMap<String, Json>) -> Result<Vec<(String, String)>, StepError> {
    let mut resolved = Vec::new();
    let mut missing = Vec::new();
    for (variable, value) in env {
        let reference = match value {
            Json::Object(object) => object
                .get("secret")
                .map(|name| ("secret", name))
                .or_else(|| object.get("env").map(|name| ("environment variable", name))),
            _ => None,
        };
        match (reference, value) {
            (Some((what, Json::String(name))), _) => match std::env::var(name) {
                Ok(text) => resolved.push((variable.clone(), text)),
                Err(_) => {
                    missing.push(format!("{what} `{name}` (for `{variable}`): provide it with `export {name}=…`"))
                }
            },
            (_, Json::String(text)) => resolved.push((variable.clone(), text.clone())),
            (None, Json::Number(_) | Json::Bool(_)) => resolved.push((variable.clone(), value.to_string())),
            _ => {
                return Err(StepError::Internal(format!(
                    "`env` value of `{variable}` has an unexpected shape: {value}"
                )));
            }
        }
    }
    if missing.is_empty() {
        Ok(resolved)
    } else {
        Err(StepError::Command(format!(
            "step `{}` needs {} that {} not set: {}",
            ctx.step_id,
            if missing.len() == 1 { "a value" } else { "values" },
            if missing.len() == 1 { "is" } else { "are" },
            missing.join("; ")
        )))
    }
}

/// Replaces `{inputs.NAME}` and `{outputs.NAME}` by shell-quoted paths; other braces stay.
fn substitute(
    command: &str,
    inputs: &BTreeMap<String, PathBuf>,
    outputs: &BTreeMap<String, PathBuf>,
) -> Result<String, StepError> {
    let mut result = String::with_capacity(command.len());
    let mut rest = command;
    while let Some(start) = rest.find('{') {
        result.push_str(&rest[..start]);
        let candidate = &rest[start + 1..];
        let placeholder = candidate.find('}').map(|end| &candidate[..end]).and_then(|inside| {
            let (group, name) = inside.split_once('.')?;
            let paths = match group {
                "inputs" => inputs,
                "outputs" => outputs,
                _ => return None,
            };
            Some((inside.len(), group, name, paths.get(name)))
        });
        match placeholder {
            Some((length, _, _, Some(path))) => {
                result.push_str(&shell_quote(&path.to_string_lossy()));
                rest = &candidate[length + 1..];
            }
            Some((_, group, name, None)) => {
                return Err(StepError::Internal(format!(
                    "the command names `{{{group}.{name}}}`, which the step does not declare"
                )));
            }
            None => {
                result.push('{');
                rest = candidate;
            }
        }
    }
    result.push_str(rest);
    Ok(result)
}

/// `text` as one shell word.
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether the file starts with Parquet's magic bytes.
fn is_parquet(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut file| file.read_exact(&mut magic)).is_ok() && &magic == b"PAR1"
}

/// A temporary folder beside the outputs, removed when dropped.
#[derive(Debug)]
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn create(ctx: &StepContext) -> Result<WorkDir, StepError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let parent = ctx
            .outputs
            .values()
            .next()
            .and_then(|path| path.parent())
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(std::env::temp_dir, Path::to_path_buf);
        let name = ctx.step_id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!(".mlopsc-{name}-{}-{unique}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|source| StepError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        // Best effort: a leftover temporary folder is harmless.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests;
