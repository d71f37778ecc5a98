//! The command line: every subcommand's flags, and dispatch to `commands/`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use mlops_compiler::{compile, plan, Compilation};

use crate::report::{self, MessageFormat};
use crate::Outcome;

/// Type-check, run and compile ML pipelines described in one `mlops.kdl` file.
#[derive(Debug, Parser)]
#[command(name = "mlopsc", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Type-check a spec and report every problem at once
    Check {
        /// The spec file
        #[arg(default_value = "mlops.kdl")]
        spec: PathBuf,
        /// How to print diagnostics
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
    },
    /// Print the compiled plan: a readable listing, or the JSON the runtime and targets consume
    Plan {
        /// The spec file
        #[arg(default_value = "mlops.kdl")]
        spec: PathBuf,
        /// Print the plan as JSON
        #[arg(long)]
        json: bool,
    },
    /// Draw the plan's DAG
    Graph {
        /// The spec file
        #[arg(default_value = "mlops.kdl")]
        spec: PathBuf,
        /// Output format
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Run the pipeline on the bundled runtime: cached, tracked, registered
    Run(crate::commands::run::RunArgs),
    /// Compile the plan into orchestrator files (GitHub Actions) and the plan JSON they run
    Build(crate::commands::build::BuildArgs),
    /// Run one plan step: the contract every orchestrator task calls
    #[command(subcommand)]
    Step(crate::commands::step::StepCommand),
    /// Inspect recorded runs
    #[command(subcommand)]
    Runs(crate::commands::runs::RunsCommand),
    /// Inspect and move registered models
    #[command(subcommand)]
    Models(crate::commands::models::ModelsCommand),
    /// Trace a registered model back to its run, spec and data
    Lineage(crate::commands::lineage::LineageArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT
    Dot,
    /// Mermaid flowchart
    Mermaid,
}

/// A spec file read into memory.
pub(crate) struct SpecFile {
    /// The path as given, for messages.
    pub(crate) display: String,
    /// Its text.
    pub(crate) source: String,
    /// Its file name, recorded in the plan.
    pub(crate) file_name: String,
}

pub(crate) fn read_spec(path: &Path) -> Result<SpecFile, Outcome> {
    let display = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let hint = if error.kind() == std::io::ErrorKind::NotFound {
                "\nhelp: pass the spec's path, or run mlopsc in the folder that holds mlops.kdl"
            } else {
                ""
            };
            crate::output::stderr_line(&format!("error: cannot read `{display}`: {error}{hint}"));
            return Err(Outcome::UsageError);
        }
    };
    let source = match String::from_utf8(bytes) {
        Ok(source) => source,
        Err(error) => {
            crate::output::stderr_line(&format!(
                "error: `{display}` is not UTF-8 text (invalid byte at offset {})",
                error.utf8_error().valid_up_to()
            ));
            return Err(Outcome::UserError);
        }
    };
    let file_name = path.file_name().map_or_else(|| display.clone(), |name| name.to_string_lossy().into_owned());
    Ok(SpecFile { display, source, file_name })
}

/// Reads and compiles a spec; prints diagnostics in human form when there are any.
fn compiled(path: &Path) -> Result<(SpecFile, plan::Plan), Outcome> {
    let spec = read_spec(path)?;
    let compilation: Compilation = compile(&spec.source, &spec.file_name);
    report::print(&spec, &compilation.diagnostics, MessageFormat::Human);
    match compilation.plan {
        Some(plan) => Ok((spec, plan)),
        None => {
            report::summary(&spec, &compilation.diagnostics);
            Err(Outcome::UserError)
        }
    }
}

pub(crate) fn run(cli: Cli) -> Outcome {
    let result = match cli.command {
        Command::Check { spec, message_format } => check(&spec, message_format),
        Command::Plan { spec, json } => compiled(&spec).map(|(_, plan)| {
            if json {
                crate::output::stdout(&plan.to_json());
            } else {
                crate::output::stdout(&plan::to_human(&plan));
            }
        }),
        Command::Graph { spec, format } => compiled(&spec).map(|(_, plan)| match format {
            GraphFormat::Dot => crate::output::stdout(&plan::to_dot(&plan)),
            GraphFormat::Mermaid => crate::output::stdout(&plan::to_mermaid(&plan)),
        }),
        Command::Run(args) => crate::commands::run::run(args),
        Command::Build(args) => crate::commands::build::run(args),
        Command::Step(command) => crate::commands::step::run(command),
        Command::Runs(command) => crate::commands::runs::run(command),
        Command::Models(command) => crate::commands::models::run(command),
        Command::Lineage(args) => crate::commands::lineage::run(args),
    };
    match result {
        Ok(()) => Outcome::Ok,
        Err(outcome) => outcome,
    }
}

fn check(path: &Path, format: MessageFormat) -> Result<(), Outcome> {
    let spec = read_spec(path)?;
    let compilation = compile(&spec.source, &spec.file_name);
    report::print(&spec, &compilation.diagnostics, format);
    if format == MessageFormat::Human {
        report::summary(&spec, &compilation.diagnostics);
    }
    match (compilation.has_errors(), &compilation.plan) {
        (false, Some(plan)) => {
            if format == MessageFormat::Human {
                crate::output::stderr_line(&format!("{}: ok, {} steps", spec.display, plan.steps.len()));
            }
            Ok(())
        }
        _ => Err(Outcome::UserError),
    }
}
