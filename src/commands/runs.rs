//! `mlopsc runs list|show|compare`: what the store recorded about runs, as aligned tables or
//! `--json` (sorted keys; the shapes are `mlops_runtime::query`'s types).

use std::collections::{BTreeMap, BTreeSet};

use clap::Subcommand;
use mlops_runtime::query::{self, Comparison, RunDetail, RunRow};
use mlops_runtime::store::{Connection, Store, StoreError};

use super::location::{self, StoreArgs};
use super::table::{self, Table};
use crate::Outcome;

/// A run named on the command line: its id, or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunRef {
    /// A run id.
    Id(i64),
    /// The newest run.
    Latest,
}

fn parse_run(text: &str) -> Result<RunRef, String> {
    if text == "latest" {
        return Ok(RunRef::Latest);
    }
    match text.parse::<i64>() {
        Ok(id) if id > 0 => Ok(RunRef::Id(id)),
        _ => Err(format!(
            "expected a run id (a positive number, as `mlopsc runs list` shows) or `latest`, found `{text}`"
        )),
    }
}

/// `mlopsc runs …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RunsCommand {
    /// List recorded runs, newest first
    List {
        /// How many runs to show
        #[arg(long, short = 'n', value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Show everything recorded about a run: header, params, steps, metrics, data, models
    Show {
        /// The run id, or `latest`
        #[arg(value_parser = parse_run)]
        run: RunRef,
        /// Print JSON instead of tables
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Compare runs side by side: params that differ, metrics with deltas, data, durations
    Compare {
        /// Two or more run ids (or `latest`); deltas are against the first
        #[arg(value_parser = parse_run, num_args = 2.., required = true)]
        runs: Vec<RunRef>,
        /// Print JSON instead of tables
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        location: StoreArgs,
    },
}

const UNKNOWN_RUN_HELP: &str = "`mlopsc runs list` shows the recorded runs";

pub(crate) fn run(command: RunsCommand) -> Result<(), Outcome> {
    match command {
        RunsCommand::List { limit, json, location } => {
            let store = location.open()?;
            let rows = location::with_connection(&store, UNKNOWN_RUN_HELP, |connection| {
                query::list_runs(&store, connection, limit as usize)
            })?;
            if json {
                table::print_json(&rows);
            } else if rows.is_empty() {
                crate::output::stderr_line(&format!("no runs recorded in `{}` yet", store.root().display()));
            } else {
                crate::output::stdout(&list_table(&rows));
            }
            Ok(())
        }
        RunsCommand::Show { run, json, location } => {
            let store = location.open()?;
            let detail = location::with_connection(&store, UNKNOWN_RUN_HELP, |connection| {
                let id = resolve(&store, connection, run)?;
                query::show_run(&store, connection, id)
            })?;
            if json {
                table::print_json(&detail);
            } else {
                crate::output::stdout(&show_text(&detail));
            }
            Ok(())
        }
        RunsCommand::Compare { runs, json, location } => {
            let store = location.open()?;
            let comparison = location::with_connection(&store, UNKNOWN_RUN_HELP, |connection| {
                let ids = runs.iter().map(|run| resolve(&store, connection, *run)).collect::<Result<Vec<_>, _>>()?;
                query::compare_runs(&store, connection, &ids)
            })?;
            if json {
                table::print_json(&comparison);
            } else {
                crate::output::stdout(&compare_text(&comparison));
            }
            Ok(())
        }
    }
}

fn resolve(store: &Store, connection: &Connection, run: RunRef) -> Result<i64, StoreError> {
    match run {
        RunRef::Id(id) => Ok(id),
        RunRef::Latest => query::latest_run(store, connection)?
            .ok_or_else(|| StoreError::NotFound(format!("there are no runs in `{}` yet", store.root().display()))),
    }
}

/// Key metrics as `auc=0.91 f1=0.8`, without the step prefix when the name alone is unique.
pub(crate) fn metrics_cell(metrics: &BTreeMap<String, f64>) -> String {
    let short = |key: &String| key.rsplit_once('/').map_or(key.clone(), |(_, name)| name.to_string());
    let names: Vec<String> = metrics.keys().map(short).collect();
    let unique: BTreeSet<&String> = names.iter().collect();
    let keep_full = unique.len() != names.len();
    metrics
        .iter()
        .map(|(key, value)| format!("{}={}", if keep_full { key.clone() } else { short(key) }, table::number(*value)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn list_table(rows: &[RunRow]) -> String {
    let mut out = Table::new(&[
        ">RUN",
        "STARTED",
        "STATUS",
        "PROJECT",
        "SPEC",
        ">RAN",
        ">CACHED",
        ">FAILED",
        ">DURATION",
        "METRICS",
    ]);
    for row in rows {
        out.row(vec![
            row.id.to_string(),
            table::time(&row.started_at),
            row.status.clone(),
            row.project.clone(),
            table::short_hash(&row.spec_hash),
            row.steps.ran.to_string(),
            row.steps.cached.to_string(),
            row.steps.failed.to_string(),
            table::duration(row.duration_ms),
            metrics_cell(&row.metrics),
        ]);
    }
    out.render()
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

fn show_text(detail: &RunDetail) -> String {
    let run = &detail.run;
    let mut out = format!("run {}  {}\n", run.id, run.status);
    let mut header = Table::new(&["", ""]);
    let mut field = |name: &str, value: String| header.row(vec![name.to_string(), value]);
    field("project", run.project.clone());
    field("spec", format!("{}  {}", run.spec_file, run.spec_hash));
    field("mlopsc", run.mlopsc_version.clone());
    field("host", format!("{}  (user {})", run.host, run.user));
    field("command", run.command.clone());
    field("started", table::time(&run.started_at));
    let finished = run.finished_at.as_deref().map_or_else(|| "-".to_string(), table::time);
    field("finished", format!("{finished}  ({})", table::duration(run.duration_ms)));
    if let Some(reproduced) = run.reproduces {
        field("reproduces", format!("run {reproduced}"));
    }
    // The header row of this two-column table is empty; skip it.
    out.push_str(&indent(header.render().lines().skip(1).collect::<Vec<_>>().join("\n").as_str()));

    if !detail.params.is_empty() {
        let mut params = Table::new(&["PARAM", "VALUE"]);
        for (name, value) in &detail.params {
            params.row(vec![name.clone(), table::json_cell(Some(value))]);
        }
        out.push_str(&format!("\nparams\n{}", indent(&params.render())));
    }

    let mut steps = Table::new(&["STEP", "KIND", "STATUS", ">DURATION", ">ROWS", "REASON"]);
    for step in &detail.steps {
        let status = match step.cached_from_run {
            Some(origin) if step.status == "cached" => format!("cached (run {origin})"),
            _ => step.status.clone(),
        };
        steps.row(vec![
            step.step_id.clone(),
            step.kind.clone(),
            status,
            table::duration(step.duration_ms),
            step.rows.map_or_else(|| "-".to_string(), table::bytes),
            step.reason.clone(),
        ]);
    }
    if !steps.is_empty() {
        out.push_str(&format!("\nsteps\n{}", indent(&steps.render())));
    }
    for step in detail.steps.iter().filter(|step| step.error.is_some()) {
        let error = step.error.as_deref().unwrap_or_default();
        let mut lines = error.lines();
        out.push_str(&format!("  error in {}: {}\n", step.step_id, lines.next().unwrap_or_default()));
        for line in lines {
            out.push_str(&format!("      {line}\n"));
        }
    }

    if !detail.metrics.is_empty() {
        let mut metrics = Table::new(&["STEP", "METRIC", ">VALUE"]);
        for (key, value) in &detail.metrics {
            let (step, name) = key.rsplit_once('/').unwrap_or(("", key));
            metrics.row(vec![step.to_string(), name.to_string(), table::number(*value)]);
        }
        out.push_str(&format!("\nmetrics\n{}", indent(&metrics.render())));
    }
    if !detail.data_files.is_empty() {
        let mut files = Table::new(&["STEP", "PATH", ">BYTES", "HASH"]);
        for file in &detail.data_files {
            files.row(vec![file.step_id.clone(), file.path.clone(), table::bytes(file.bytes), file.hash.clone()]);
        }
        out.push_str(&format!("\ndata files\n{}", indent(&files.render())));
    }
    if !detail.registered.is_empty() {
        let mut models = Table::new(&["MODEL", ">VERSION", "ALIASES", "MODEL HASH"]);
        for version in &detail.registered {
            models.row(vec![
                version.name.clone(),
                version.version.to_string(),
                if version.aliases.is_empty() { "-".to_string() } else { version.aliases.join(", ") },
                table::short_hash(&version.model_hash),
            ]);
        }
        out.push_str(&format!("\nregistered\n{}", indent(&models.render())));
    }
    out
}

fn compare_text(comparison: &Comparison) -> String {
    let titles: Vec<String> = comparison.runs.iter().map(|run| format!("RUN {}", run.id)).collect();
    let columns = |first: &str, right: bool| -> Vec<String> {
        std::iter::once(first.to_string())
            .chain(titles.iter().map(|title| if right { format!(">{title}") } else { title.clone() }))
            .collect()
    };
    let table_of = |names: Vec<String>| Table::new(&names.iter().map(String::as_str).collect::<Vec<_>>());

    let mut header = table_of(columns("", false));
    header.row(
        std::iter::once("status".to_string()).chain(comparison.runs.iter().map(|run| run.status.clone())).collect(),
    );
    header.row(
        std::iter::once("spec".to_string())
            .chain(comparison.runs.iter().map(|run| table::short_hash(&run.spec_hash)))
            .collect(),
    );
    header.row(
        std::iter::once("started".to_string())
            .chain(comparison.runs.iter().map(|run| table::time(&run.started_at)))
            .collect(),
    );
    header.row(
        std::iter::once("duration".to_string())
            .chain(comparison.runs.iter().map(|run| table::duration(run.duration_ms)))
            .collect(),
    );
    let mut out = header.render();

    out.push_str("\nparams that differ\n");
    if comparison.params.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let mut params = table_of(columns("PARAM", false));
        for (name, values) in &comparison.params {
            params.row(
                std::iter::once(name.clone())
                    .chain(values.iter().map(|value| table::json_cell(value.as_ref())))
                    .collect(),
            );
        }
        out.push_str(&indent(&params.render()));
    }

    out.push_str("\nmetrics (change against the first run)\n");
    if comparison.metrics.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let mut metrics = table_of(columns("METRIC", true));
        for (name, metric) in &comparison.metrics {
            let cells = metric.values.iter().zip(&metric.deltas).enumerate().map(|(index, (value, delta))| {
                match (value, delta) {
                    (None, _) => "-".to_string(),
                    (Some(value), Some(delta)) if index > 0 => {
                        format!("{} ({})", table::number(*value), table::delta(*delta))
                    }
                    (Some(value), _) => table::number(*value),
                }
            });
            metrics.row(std::iter::once(name.clone()).chain(cells).collect());
        }
        out.push_str(&indent(&metrics.render()));
    }

    out.push_str("\ndata that differs\n");
    if comparison.data.is_empty() {
        out.push_str("  (none: every run read the same files)\n");
    } else {
        let mut data = table_of(columns("FILE", false));
        for (name, hashes) in &comparison.data {
            let cells = hashes.iter().map(|hash| hash.as_deref().map_or_else(|| "-".to_string(), table::short_hash));
            data.row(std::iter::once(name.clone()).chain(cells).collect());
        }
        out.push_str(&indent(&data.render()));
    }

    if !comparison.step_durations.is_empty() {
        let mut durations = table_of(columns("STEP", true));
        for (name, values) in &comparison.step_durations {
            durations
                .row(std::iter::once(name.clone()).chain(values.iter().map(|value| table::duration(*value))).collect());
        }
        out.push_str(&format!("\nstep durations\n{}", indent(&durations.render())));
    }
    out
}
