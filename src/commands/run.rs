//! `mlopsc run`: compile the spec and execute its plan on the bundled runtime.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use mlops_compiler::plan::Plan;
use mlops_runtime::executor::{self, Event, RunRequest, RunSummary, Status};
use mlops_runtime::records;

use super::location;
use crate::report::{self, MessageFormat};
use crate::Outcome;

/// How progress is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Readable lines on stderr
    Human,
    /// One JSON object per event on stderr
    Json,
}

/// `mlopsc run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The spec file
    #[arg(default_value = "mlops.kdl")]
    spec: PathBuf,
    /// Override a parameter: --set rounds=500 (repeatable)
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    set: Vec<(String, String)>,
    /// Run only this step; its inputs come from earlier runs in the store
    #[arg(long, value_name = "STEP", conflicts_with = "from")]
    only: Option<String>,
    /// Run this step and everything downstream of it
    #[arg(long, value_name = "STEP")]
    from: Option<String>,
    /// Run every step even when its result is cached
    #[arg(long)]
    force: bool,
    /// Steps run at once (default: the number of cores)
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
    /// Re-run a recorded run on exactly the data it read then (kept in the store)
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["only", "from", "set"])]
    reproduce: Option<i64>,
    /// The store folder (default: the spec's `store`, or .mlops beside the spec)
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Print only problems and the final line
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Progress format
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

/// Parses `NAME=VALUE`.
pub(crate) fn parse_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

/// Compiles the spec with `--set` values; prints diagnostics; returns the plan.
pub(crate) fn compile_spec(spec: &std::path::Path, set: &[(String, String)]) -> Result<Plan, Outcome> {
    let file = crate::cli::read_spec(spec)?;
    let compilation = match mlops_compiler::compile_with_params(&file.source, &file.file_name, set) {
        Ok(compilation) => compilation,
        Err(problems) => {
            for problem in problems {
                crate::output::stderr_line(&format!("error: {problem}"));
            }
            return Err(Outcome::UsageError);
        }
    };
    let errors = compilation.has_errors();
    if errors || !compilation.diagnostics.is_empty() {
        report::print(&file, &compilation.diagnostics, MessageFormat::Human);
    }
    match compilation.plan {
        Some(plan) if !errors => Ok(plan),
        _ => {
            report::summary(&file, &compilation.diagnostics);
            Err(Outcome::UserError)
        }
    }
}

/// Sets a flag on Ctrl-C and SIGTERM, so steps stop cleanly and partial outputs are discarded;
/// a second signal exits at once with status 130.
pub(crate) fn cancellation() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping ends the process at once.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag));
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
    flag
}

pub(crate) fn run(args: RunArgs) -> Result<(), Outcome> {
    let project_dir = location::project_dir(&args.spec);
    let plan = match args.reproduce {
        Some(run_id) => {
            // The recorded plan, so that a changed spec does not change the reproduction.
            let current = compile_spec(&args.spec, &[])?;
            let dir = location::store_dir(&current, &project_dir, args.store.as_deref())?;
            let store = location::open(&dir)?;
            let connection = store.connect().map_err(|error| fail(&error.to_string()))?;
            let text = records::run_plan(&store, &connection, run_id).map_err(|error| {
                crate::output::stderr_line(&format!("error: {error}"));
                Outcome::UsageError
            })?;
            serde_json::from_str::<Plan>(&text)
                .map_err(|error| fail(&format!("run {run_id}'s recorded plan: {error}")))?
        }
        None => compile_spec(&args.spec, &args.set)?,
    };
    let store_dir = location::store_dir(&plan, &project_dir, args.store.as_deref())?;
    let store = location::open(&store_dir)?;
    let jobs =
        args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |count| count.get()), usize::from);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let cancel = cancellation();
    let printer = Printer::new(args.log_format, args.quiet, std::io::stderr().is_terminal());
    let request = RunRequest {
        plan: &plan,
        project_dir: &project_dir,
        command,
        jobs,
        only: args.only.clone(),
        from: args.from.clone(),
        force: args.force,
        reproduce: args.reproduce,
    };
    let summary = executor::run(&store, &request, &|event| printer.event(&event), &cancel).map_err(|error| {
        crate::output::stderr_line(&format!("error: {error}"));
        Outcome::UserError
    })?;
    printer.summary(&summary, &store_dir);
    match mlops_runtime::mlflow::mirror_if_configured(&store, &plan, summary.run_id) {
        Ok(Some(line)) if !args.quiet => crate::output::stderr_line(&line),
        Ok(_) => {}
        // The run itself is recorded in the store; a mirror failure must not hide that.
        Err(message) => {
            crate::output::stderr_line(&format!("warning: run {} was not mirrored: {message}", summary.run_id))
        }
    }
    match summary.status {
        "succeeded" => Ok(()),
        "cancelled" => Err(Outcome::Interrupted),
        _ => Err(Outcome::UserError),
    }
}

fn fail(message: &str) -> Outcome {
    crate::output::stderr_line(&format!("error: {message}"));
    Outcome::UserError
}

/// Prints run progress: plain lines, or on a terminal a live spinner per running step (with
/// its elapsed time) above which finished steps are printed.
pub(crate) struct Printer {
    pub(crate) format: LogFormat,
    pub(crate) quiet: bool,
    live: Option<Live>,
}

struct Live {
    multi: indicatif::MultiProgress,
    bars: std::sync::Mutex<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
}

fn seconds(duration: std::time::Duration) -> String {
    format!("{:.2}s", duration.as_secs_f64())
}

fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl Printer {
    pub(crate) fn new(format: LogFormat, quiet: bool, terminal: bool) -> Printer {
        let live = (terminal && !quiet && format == LogFormat::Human).then(|| Live {
            multi: indicatif::MultiProgress::new(),
            bars: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        });
        Printer { format, quiet, live }
    }

    fn line(&self, text: &str) {
        match &self.live {
            Some(live) => {
                let _ = live.multi.println(text);
            }
            None => crate::output::stderr_line(text),
        }
    }

    pub(crate) fn event(&self, event: &Event) {
        if self.format == LogFormat::Json {
            crate::output::stderr_line(&event_json(event).to_string());
            return;
        }
        if let Some(live) = &self.live {
            match event {
                Event::StepStarted { step, reason } => {
                    let bar = live.multi.add(indicatif::ProgressBar::new_spinner());
                    let style = indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
                    bar.set_style(style);
                    bar.set_message(format!("{step}: {reason}"));
                    bar.enable_steady_tick(std::time::Duration::from_millis(100));
                    if let Ok(mut bars) = live.bars.lock() {
                        bars.insert(step.clone(), bar);
                    }
                    return;
                }
                Event::StepFinished(summary) => {
                    if let Some(bar) = live.bars.lock().ok().and_then(|mut bars| bars.remove(&summary.step)) {
                        bar.finish_and_clear();
                    }
                }
                _ => {}
            }
        }
        match event {
            Event::RunStarted { run_id, steps } if !self.quiet => {
                self.line(&format!("run {run_id}: {steps} steps"));
            }
            Event::StepStarted { step, reason } if !self.quiet => {
                let marker = "▶";
                self.line(&format!("  {marker} {step}: {reason}"));
            }
            Event::Log { step, line } if !self.quiet => {
                self.line(&format!("    {step} | {line}"));
            }
            Event::NotRun { step, why } if !self.quiet => {
                self.line(&format!("  - {step}: not run here; {why}"));
            }
            Event::StepFinished(summary) => {
                let failed = matches!(summary.status, Status::Failed | Status::Skipped | Status::Cancelled);
                if self.quiet && !failed {
                    return;
                }
                let mut line = match summary.status {
                    Status::Succeeded => format!("  ✓ {} ran in {}", summary.step, seconds(summary.duration)),
                    Status::Cached => format!("  ✓ {} {}", summary.step, summary.reason),
                    Status::Failed => format!("  ✗ {} failed after {}", summary.step, seconds(summary.duration)),
                    Status::Skipped => format!("  - {} skipped: {}", summary.step, summary.reason),
                    Status::Cancelled => format!("  - {} cancelled", summary.step),
                };
                if let Some(rows) = summary.rows {
                    line.push_str(&format!(", {} rows", thousands(rows)));
                }
                self.line(&line);
                for note in &summary.notes {
                    self.line(&format!("      {note}"));
                }
                if let Some((message, details)) = &summary.error {
                    self.line(&format!("    error: {message}"));
                    for detail in details {
                        self.line(&format!("      {detail}"));
                    }
                }
            }
            _ => {}
        }
    }

    pub(crate) fn summary(&self, summary: &RunSummary, store_dir: &std::path::Path) {
        let count = |status: Status| summary.steps.iter().filter(|step| step.status == status).count();
        let compute: f64 = summary.steps.iter().map(|step| step.duration.as_secs_f64()).sum();
        let wall = summary.wall.as_secs_f64();
        if self.format == LogFormat::Json {
            let line = serde_json::json!({
                "event": "run_finished",
                "run": summary.run_id,
                "status": summary.status,
                "wall_seconds": wall,
                "step_seconds": compute,
                "ran": count(Status::Succeeded),
                "cached": count(Status::Cached),
                "failed": count(Status::Failed),
                "skipped": count(Status::Skipped),
            });
            crate::output::stderr_line(&line.to_string());
            return;
        }
        let mut parts = vec![format!("{} ran", count(Status::Succeeded)), format!("{} cached", count(Status::Cached))];
        for (status, word) in
            [(Status::Failed, "failed"), (Status::Skipped, "skipped"), (Status::Cancelled, "cancelled")]
        {
            if count(status) > 0 {
                parts.push(format!("{} {word}", count(status)));
            }
        }
        crate::output::stderr_line(&format!(
            "run {} {} in {:.2}s ({}); store {}",
            summary.run_id,
            summary.status,
            wall,
            parts.join(", "),
            store_dir.display()
        ));
    }
}

fn event_json(event: &Event) -> serde_json::Value {
    use serde_json::json;
    match event {
        Event::RunStarted { run_id, steps } => json!({ "event": "run_started", "run": run_id, "steps": steps }),
        Event::StepStarted { step, reason } => json!({ "event": "step_started", "step": step, "reason": reason }),
        Event::Log { step, line } => json!({ "event": "log", "step": step, "line": line }),
        Event::NotRun { step, why } => json!({ "event": "not_run", "step": step, "why": why }),
        Event::StepFinished(summary) => json!({
            "event": "step_finished",
            "step": summary.step,
            "status": summary.status.name(),
            "reason": summary.reason,
            "seconds": summary.duration.as_secs_f64(),
            "rows": summary.rows,
            "metrics": summary.metrics,
            "notes": summary.notes,
            "error": summary.error.as_ref().map(|(message, details)| json!({ "message": message, "details": details })),
        }),
    }
}
