//! `mlopsc models list|show|promote|rollback`: the registry's versions and aliases. Moving an
//! alias is one registry transaction that also appends to the audit log.

use std::collections::BTreeMap;

use clap::Subcommand;
use mlops_runtime::registry::{self, AliasChange, AliasMove, ModelSummary, ModelVersion};
use serde::Serialize;

use super::location::{self, StoreArgs};
use super::table::{self, Table};
use crate::Outcome;

/// `mlopsc models …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ModelsCommand {
    /// List registered models: versions, aliases, latest metrics
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Show a version (NAME for the latest, NAME@VERSION or NAME@ALIAS) and the alias history
    Show {
        /// NAME, NAME@VERSION or NAME@ALIAS
        model: String,
        /// Print JSON instead of tables
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Point an alias at a version (NAME@VERSION, or NAME@ALIAS for the version it names now)
    Promote {
        /// NAME@VERSION or NAME@ALIAS
        model: String,
        /// The alias to move (default: the `promote` of the spec's `register`, else production)
        #[arg(long, value_name = "ALIAS")]
        to: Option<String>,
        /// Print the change as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Point an alias back at the version before its current one; repeat to go further back
    Rollback {
        /// NAME (or NAME@ALIAS)
        model: String,
        /// The alias to roll back
        #[arg(long, value_name = "ALIAS")]
        alias: Option<String>,
        /// Print the change as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        location: StoreArgs,
    },
}

const UNKNOWN_MODEL_HELP: &str = "`mlopsc models list` shows the registered models and their aliases";

/// `mlopsc models show --json`.
#[derive(Debug, Serialize)]
struct ModelShow {
    /// The version asked for.
    version: ModelVersion,
    /// Every version of the model, newest first.
    versions: Vec<ModelVersion>,
    /// Alias → version, now.
    aliases: BTreeMap<String, i64>,
    /// Every alias change, oldest first.
    alias_history: Vec<AliasChange>,
}

pub(crate) fn run(command: ModelsCommand) -> Result<(), Outcome> {
    match command {
        ModelsCommand::List { json, location } => {
            let store = location.open()?;
            let models = location::with_connection(&store, "", |connection| registry::models(&store, connection))?;
            if json {
                table::print_json(&models);
            } else if models.is_empty() {
                crate::output::stderr_line(&format!("no models registered in `{}` yet", store.root().display()));
            } else {
                crate::output::stdout(&list_table(&models));
            }
            Ok(())
        }
        ModelsCommand::Show { model, json, location } => {
            let store = location.open()?;
            let shown = location::with_connection(&store, UNKNOWN_MODEL_HELP, |connection| {
                let version = registry::resolve_existing(&store, connection, &model)?;
                let versions = registry::list(&store, connection, Some(&version.name))?;
                let aliases = versions
                    .iter()
                    .flat_map(|other| other.aliases.iter().map(|alias| (alias.clone(), other.version)))
                    .collect();
                let alias_history = registry::alias_history(&store, connection, &version.name)?;
                Ok(ModelShow { version, versions, aliases, alias_history })
            })?;
            if json {
                table::print_json(&shown);
            } else {
                crate::output::stdout(&show_text(&shown));
            }
            Ok(())
        }
        ModelsCommand::Promote { model, to, json, location } => {
            if !model.contains('@') {
                return Err(usage(&format!(
                    "`{model}`: say which version to promote, as NAME@VERSION (or NAME@ALIAS, such as {model}@staging)"
                )));
            }
            let store = location.open()?;
            let alias = to.unwrap_or_else(|| default_alias(&location, model.split('@').next().unwrap_or_default()));
            let moved = location::with_connection(&store, UNKNOWN_MODEL_HELP, |connection| {
                let version = registry::resolve_existing(&store, connection, &model)?;
                registry::promote(&store, connection, &version.name, version.version, &alias)
            })?;
            report_move(&moved, "promoted", json);
            Ok(())
        }
        ModelsCommand::Rollback { model, alias, json, location } => {
            let (name, alias) = match (model.split_once('@'), alias) {
                (Some((_, from_reference)), Some(flag)) if from_reference != flag => {
                    return Err(usage(&format!(
                        "`{model}` names alias `{from_reference}` but --alias says `{flag}`; give one of them"
                    )))
                }
                (Some((name, from_reference)), _) => (name.to_string(), from_reference.to_string()),
                (None, flag) => (model.clone(), flag.unwrap_or_else(|| "production".to_string())),
            };
            let store = location.open()?;
            let moved = location::with_connection(&store, UNKNOWN_MODEL_HELP, |connection| {
                registry::rollback(&store, connection, &name, &alias)
            })?;
            report_move(&moved, "rolled back", json);
            Ok(())
        }
    }
}

fn usage(message: &str) -> Outcome {
    crate::output::stderr_line(&format!("error: {message}"));
    Outcome::UsageError
}

/// The alias `promote` moves by default: the `promote` option of the spec's `register` node
/// for this model, else `production`.
fn default_alias(location: &StoreArgs, name: &str) -> String {
    let plan = crate::cli::read_spec(&location.spec)
        .ok()
        .and_then(|file| mlops_compiler::compile(&file.source, &file.file_name).plan);
    plan.and_then(|plan| {
        plan.steps
            .iter()
            .find(|step| step.kind == "register" && step.name == name)
            .and_then(|step| step.params.get("promote"))
            .and_then(|promote| promote.as_str())
            .map(str::to_string)
    })
    .unwrap_or_else(|| "production".to_string())
}

fn report_move(moved: &AliasMove, verb: &str, json: bool) {
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            #[serde(flatten)]
            moved: &'a AliasMove,
            changed: bool,
        }
        table::print_json(&Report { moved, changed: !moved.unchanged() });
        return;
    }
    let line = if moved.unchanged() {
        format!("{}@{} is already `{}`; nothing changed\n", moved.name, moved.to, moved.alias)
    } else {
        let from = moved.from.map_or_else(|| "unset".to_string(), |from| format!("version {from}"));
        format!(
            "{verb} {}@{}: `{}` now points at version {} (was {from})\n",
            moved.name, moved.alias, moved.alias, moved.to
        )
    };
    crate::output::stdout(&line);
}

/// Numeric top-level metrics as `auc=0.91 f1=0.8`.
pub(crate) fn metrics_cell(metrics: &serde_json::Value) -> String {
    let Some(object) = metrics.as_object() else { return "-".to_string() };
    let cells: Vec<String> = object
        .iter()
        .filter_map(|(name, value)| value.as_f64().map(|number| format!("{name}={}", table::number(number))))
        .collect();
    if cells.is_empty() {
        "-".to_string()
    } else {
        cells.join(" ")
    }
}

fn list_table(models: &[ModelSummary]) -> String {
    let mut out = Table::new(&["MODEL", ">VERSIONS", ">LATEST", "ALIASES", "REGISTERED", "LATEST METRICS"]);
    for model in models {
        let aliases: Vec<String> = model.aliases.iter().map(|(alias, version)| format!("{alias}→{version}")).collect();
        out.row(vec![
            model.name.clone(),
            model.versions.to_string(),
            model.latest.to_string(),
            if aliases.is_empty() { "-".to_string() } else { aliases.join(" ") },
            table::time(&model.updated_at),
            metrics_cell(&model.latest_metrics),
        ]);
    }
    out.render()
}

fn optional(hash: Option<&String>) -> String {
    hash.cloned().unwrap_or_else(|| "-".to_string())
}

fn show_text(shown: &ModelShow) -> String {
    let version = &shown.version;
    let mut out = format!("{}@{}\n", version.name, version.version);
    let mut fields = Table::new(&["", ""]);
    let mut field = |name: &str, value: String| fields.row(vec![name.to_string(), value]);
    field("aliases", if version.aliases.is_empty() { "-".to_string() } else { version.aliases.join(", ") });
    field("registered", format!("{} by {}", table::time(&version.created_at), version.created_by));
    field("run", format!("{} (step {})", version.run_id, version.step_id));
    field("trained by", format!("`{}`", version.source_model));
    field("model", version.model_hash.clone());
    field("preprocess", optional(version.preprocess_hash.as_ref()));
    field("evaluation", optional(version.evaluation_hash.as_ref()));
    field("spec hash", version.spec_hash.clone());
    field("metrics", metrics_cell(&version.metrics));
    for line in fields.render().lines().skip(1) {
        out.push_str(&format!("  {line}\n"));
    }

    let mut versions = Table::new(&[">VERSION", "REGISTERED", "BY", ">RUN", "ALIASES", "METRICS"]);
    for other in &shown.versions {
        versions.row(vec![
            other.version.to_string(),
            table::time(&other.created_at),
            other.created_by.clone(),
            other.run_id.to_string(),
            if other.aliases.is_empty() { "-".to_string() } else { other.aliases.join(", ") },
            metrics_cell(&other.metrics),
        ]);
    }
    out.push_str("\nversions\n");
    out.push_str(&versions.render().lines().map(|line| format!("  {line}\n")).collect::<String>());
    out.push_str("\nalias history\n");
    out.push_str(&history_table(&shown.alias_history).lines().map(|line| format!("  {line}\n")).collect::<String>());
    out
}

/// Alias changes as a table: when, who, what, which alias, from → to.
pub(crate) fn history_table(changes: &[AliasChange]) -> String {
    let mut history = Table::new(&["WHEN", "WHO", "ACTION", "ALIAS", ">FROM", ">TO"]);
    for change in changes {
        history.row(vec![
            table::time(&change.changed_at),
            change.changed_by.clone(),
            change.action.clone(),
            change.alias.clone(),
            change.previous_version.map_or_else(|| "-".to_string(), |version| version.to_string()),
            change.version.to_string(),
        ]);
    }
    history.render()
}
